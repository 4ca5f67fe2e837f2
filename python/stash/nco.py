"""nengo's cache objects (NCO): metadata plus an array in one file (being written)."""
