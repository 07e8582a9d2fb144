"""What lets code and files written for the original Tensor2Tensor load here."""
