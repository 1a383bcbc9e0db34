"""Opening, showing, listing, moving by hand and closing onboardings."""
