"""The reference methods of ``cardiac-ldm`` (study A): ``dp-ldm`` and ``dp-ldm-scratch``.

:mod:`.method` trains and returns the generator artifact; :mod:`.public` derives the
public parts (autoencoder, latent scaling, attribute normalisation, pre-training).
Registered, import-light, in :mod:`generators.methods`.
"""
