"""The Teams app package: `reflect manifest build` writes manifest.json and the two icons as one zip.

`app_settings` checks the `[app]` settings table, `build` fills `manifest.template.json` from it and
validates the result against the official schema, `icons` draws `color.png` and `outline.png`.
"""
