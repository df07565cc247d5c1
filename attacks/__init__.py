"""Reconstruction attacks on DP-SGD updates and the formal bounds they are judged against."""
