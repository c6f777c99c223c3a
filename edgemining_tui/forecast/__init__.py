"""The built-in PV forecast: clear sky at the site, scaled by what the site really produces."""
