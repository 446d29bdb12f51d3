"""One parser per alert source; each turns a decoded payload into normalised Alerts."""
