"""The template library: reading and resolving (library), importing (sources, importing)
and exporting."""
