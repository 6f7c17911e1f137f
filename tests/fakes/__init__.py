"""Local fakes of outside services (OSV, Stripe, PayPal); tests never reach the network."""
