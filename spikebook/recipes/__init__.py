"""How each shipped network is trained: one frozen recipe type and its training function per kind of data.

* :mod:`spikebook.recipes.simulated`: DeepSpike networks trained on the paper's simulations (§2.4);
* :mod:`spikebook.recipes.gcamp`: DeepSpike networks trained on the Chen et al. (2013) GCaMP6 recordings;
* :mod:`spikebook.recipes.spikefinder`: Bolte & Wildani's supervised networks on the Spikefinder data.

Recipes sit above :mod:`spikebook.training` and below :mod:`spikebook.pretrained`, which names the entries
and loads their checkpoints; they never import an experiment.
"""
