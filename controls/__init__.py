"""Methods of the ``privacy-audit`` task: an honest DP-SGD reference and negative controls."""
