"""The reference page of bench/bench_pages.py: a bare Flask + Jinja application that renders a
page of about the size of the project's public pages (header, navigation, a list of 60 linked
entries with dates, footer: ~15 KiB), with no database, no extensions and no cache.

    gunicorn -w 2 -b 127.0.0.1:5098 --chdir bench bare_app:app
"""
from __future__ import annotations

import datetime as dt

from flask import Flask, render_template_string

app = Flask(__name__)

TEMPLATE = """<!doctype html>
<html lang="es-MX"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title><link rel="stylesheet" href="{{ url_for('static', filename='site.css') }}"></head>
<body><header><a href="{{ url_for('home') }}">{{ title }}</a>
<nav><ul>{% for label in nav %}<li><a href="{{ url_for('home', section=label) }}">{{ label }}</a></li>{% endfor %}</ul></nav>
</header><main><h1>{{ title }}</h1><p class="lead">{{ lead }}</p>
<ol class="publications">{% for item in items %}
<li><a href="{{ url_for('item', item_id=item.id) }}">{{ item.title }}</a>
<span class="meta">{{ item.kind }} · {{ item.date.strftime('%d/%m/%Y') }} · versión {{ item.version }}</span>
<p>{{ item.summary }}</p></li>{% endfor %}</ol></main>
<footer><p>{{ footer }}</p></footer></body></html>"""

NAV = ["Minutas y evidencias", "Compromisos y agenda", "Contacto", "Datos abiertos", "Ligas de interés",
       "Dudas, quejas y sugerencias", "Gobierno abierto"]
ITEMS = [{"id": i, "title": f"Sesión ordinaria número {i} del Secretariado Técnico Local",
          "kind": "Minuta" if i % 2 else "Compromiso", "date": dt.date(2025, 1, 1) + dt.timedelta(days=7 * i),
          "version": 1 + i % 3,
          "summary": "Acuerdos sobre transparencia proactiva, datos abiertos y seguimiento del plan de acción local."}
         for i in range(60)]


@app.get("/")
def home():
    """The reference page."""
    return render_template_string(TEMPLATE, title="Secretaría Ejecutiva del Sistema Estatal Anticorrupción",
                                  lead="Publicaciones recientes del Secretariado Técnico Local.", nav=NAV,
                                  items=ITEMS, footer="Datos de ejemplo para la medición.")


@app.get("/item/<int:item_id>")
def item(item_id: int):
    """A link target (not measured)."""
    return str(item_id)
