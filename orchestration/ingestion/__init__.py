"""Loading Segment-spec events from the landing zone into the warehouse."""
