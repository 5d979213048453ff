"""What the page's Web Worker runs, one job a module; ``pynet.bridge.handle`` is its one way in.

- ``state``: the page's state (one dict) and the conversion of values passed in from JavaScript.
- ``models``: the model in use and the trained model on offer.
- ``datasets``: the loaded MNIST data sets and sample images.
- ``form``: the training form checked field by field.
- ``runs``: training runs stepped in time slices, helper workers' shards, the warm-up.
- ``reading``: a drawing read by the model in use.
- ``analysis``: the model's mistakes on the test set, its first layer.
- ``samples``: the user's own samples to and from a samples file, fine-tuning on them.
"""
