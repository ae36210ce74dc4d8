"""Renderers: check results and reports out as text, JSON, Markdown, JUnit, HTML and SVG."""
