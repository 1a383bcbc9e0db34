"""The Request for Information: the questionnaire, its answer validators and its conversation."""
