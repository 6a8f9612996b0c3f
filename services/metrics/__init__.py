"""The county's figures: definitions, computation into cells, refresh, and reads.

Nothing is imported here: the models take the hazards' counting rules from `definitions`,
which must load without the modules that import the models.
"""
