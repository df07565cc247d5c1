"""Reference generative models (DP latent diffusion, conditional GAN)."""
