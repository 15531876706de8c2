"""Hand-written tables of the synthetic demo county (杏林县). Nothing here describes a real place or person."""
