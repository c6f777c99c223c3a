"""The owner as part of the home: the site and the fleet on an MQTT broker (retained state,
Home Assistant discovery, command topics) and consoles that watch sites through the broker."""
