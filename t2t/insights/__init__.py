"""Insights: a web page that translates with trained models and shows their attention.

`configuration` reads T2T's Insights configuration file, `processor` turns a query into
T2T's visualizations (processing, beam-search graph) plus beams and attention, `app`
is the HTTP server (FastAPI), and `static/` the page it serves. `t2t-insights-server`
(t2t.bin) starts it.
"""
