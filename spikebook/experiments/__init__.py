"""One module per result of the papers: the computation behind a chapter's figure or table.

Each module computes (and caches, for expensive full-mode runs) what its chapter shows; chapters only
call, explain and plot.
"""
