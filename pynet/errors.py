"""Errors that say what they are about as data, so that no caller has to read their wording."""


class SettingError(ValueError):
    """A training setting that cannot be used. ``field`` names it, as the page's form and
    TrainConfig do ('network', 'learning_rate', 'epochs', 'batch_size', ...); the message is one
    sentence for a person."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
