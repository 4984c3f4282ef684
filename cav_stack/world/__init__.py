"""What a run is about, independent of any simulator: scenarios, road map, operating domain, sensor rig."""
