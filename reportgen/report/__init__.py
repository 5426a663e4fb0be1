"""Stage 3: the report. Results → summaries, statistics, analyses, figures and Markdown pages."""
