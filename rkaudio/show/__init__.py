"""A show folder and its settings.

Owns the typed settings (`settings`: the show, its audio and transcript options, caption rules,
loudness presets), reading them from defaults, ``show.toml``, ``RKAUDIO_*`` variables and flags
(`config`), Apple's category list (`categories`), where every file of the show and of each
episode lives (`paths`), and what each published episode was made from (`state`).

May import: `rkaudio.core`.
"""
