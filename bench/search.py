#!/usr/bin/env python
"""Search benchmark: Whoosh backend vs SQLite FTS5 vs PostgreSQL full text on a synthetic Spanish corpus.

Usage::

    .venv/bin/python bench/search.py                 # 20,000 and 100,000 docs
    .venv/bin/python bench/search.py --docs 20000 --queries 300
    .venv/bin/python bench/search.py --quick         # 2,000 docs, smoke run
    .venv/bin/python bench/search.py --backends whoosh,postgres \
        --database-url postgresql://postgres@127.0.0.1:5432/comun_bench
                                                     # PostgreSQL backend side by side with Whoosh
    .venv/bin/python bench/search.py --docs 100000 --backends whoosh --workdir /tmp/sb --reuse
                                                     # build the 100,000 index once, search it again
                                                     # in later runs (no rebuild)

The PostgreSQL backend replaces the ``search_documents`` rows of the database given with
``--database-url`` (use a scratch database, never a site's); its index size is the size of the
``search_documents`` and ``search_words`` tables with their indexes, and its CPU columns count
this process only (the analysis in Python), not the PostgreSQL server's work.

What it measures, for each corpus size and each backend, in one run:

- indexing throughput (docs/s) of a full ``rebuild()`` (build aside + swap),
- index size on disk (MB),
- freshness: seconds from ``index_documents([doc])`` of one new document to
  the document being returned by ``search()``,
- query latency (median and p95, ms) for 1-3-word queries with a tenant
  filter, facets, and top-10 highlighted snippets: a first pass (the
  engine's caches filling), the same queries repeated (its postings and
  score caches warm), and repeated through the app's result cache
  (:mod:`comun_cms.search.result_cache`; in-process cachelib cache, or Redis
  with ``--cache-url``); wall time and the process CPU time of each query
  (the load-independent figure on a shared machine).

The corpus is synthetic and needs no network: ~300 words per document drawn
from a Zipf distribution (s = 1.0) over a vocabulary built from the Spanish
word list embedded below (frequent function words first, as in Spanish
frequency lists, then content and government-domain words, plus generated
plurals, feminines and regular verb forms), 3 tenants, 6 content types,
years 2018-2026, 3 statuses.  Everything is seeded, so runs are comparable.

Results are printed as a Markdown table (copy it to docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Import the modules directly (not through comun_cms/__init__.py, which builds
# the Flask app): the search layer is app-independent.
from comun_cms.search.analysis import SPANISH_STOP_WORDS, fold  # noqa: E402
from comun_cms.search.backend import SearchDocument, SearchQuery  # noqa: E402
from comun_cms.search.result_cache import ResultCache, normalize_query  # noqa: E402
from comun_cms.search.whoosh_backend import WhooshBackend  # noqa: E402

try:
    from comun_cms.search.sqlite_fts import SQLiteFTSBackend  # noqa: E402
except ImportError:  # pragma: no cover - optional backend
    SQLiteFTSBackend = None
from comun_cms.search.pg_backend import PostgresBackend  # noqa: E402

# ---------------------------------------------------------------------------
# Embedded Spanish word list
# ---------------------------------------------------------------------------

# The most frequent Spanish words, in (approximate) frequency order, as in
# the RAE CREA frequency list: mostly function words, which the analyzer
# drops as stop words, as real text does.
FREQUENT = """
de la que el en y a los se del las un por con no una su para es al lo como
más pero sus le ha me si sin sobre este ya entre cuando todo esta ser son dos
también fue había era muy años hasta desde está mi porque qué sólo han yo hay
vez puede todos así nos ni parte tiene él uno donde bien tiempo mismo ese
ahora cada e vida otro después te otros aunque esa eso hace otra gobierno tan
durante siempre día tanto ella tres sí dijo sido gran país según menos mundo
año antes estado contra sino forma caso nada hacer general estaba poco estos
presidente mayor ante unos les algo hacia casa ellos ayer hecho primera mucho
mientras además quien momento millones esto hombre están pues hoy lugar
nacional trabajo otras mejor nuevo decir algunos entonces todas días debe
política cómo casi toda tal luego pasado primer medio va estas sea tenía nunca
poder aquí ver veces embargo partido personas grupo cuenta pueden tienen misma
nueva cual fueron mujer frente tras cosas fin ciudad he social manera tener
sistema será historia muchos tipo cuatro dentro nuestro punto dice ello
cualquier noche aún agua parece haber situación fuera bajo grandes nuestra
ejemplo acuerdo habían usted estados hizo nadie países horas posible tarde ley
importante guerra desarrollo proceso realidad sentido lado mí tu cambio allí
mano eran estar san número sociedad unas centro padre gente final relación
cuerpo obra incluso través último madre mis modo problema cinco hombres
información ojos muerte nombre algunas público mujeres siglo todavía meses
mañana esos nosotros hora muchas pueblo alguna dar problemas don da tú
derecho verdad podría sería junto cabeza aquel cuanto tierra equipo segundo
director dicho cierto casos manos nivel podía familia largo partir falta
llegar propio ministro cosa primero seguridad hemos mal trata algún tuvo
respecto semana varios real sé voz paso señor mil quienes producción
"""

# Content words (singular nouns, adjectives, infinitives), including the
# vocabulary of a state transparency / anti-corruption CMS.
NOUNS = """
transparencia corrupción compromiso sesión acuerdo municipio ayuntamiento
cabildo regidor síndico gobernador secretaría secretario dependencia entidad
ciudadano ciudadanía participación rendición auditoría fiscalización
presupuesto licitación contrato contratación adquisición servicio solicitud
acceso dato protección archivo expediente resolución recurso revisión comité
consejo comisión anticorrupción plan acción programa indicador meta objetivo
evaluación seguimiento avance cumplimiento criterio lineamiento norma
reglamento decreto iniciativa reforma congreso legislatura diputado senador
tribunal juez sentencia denuncia queja sanción responsabilidad servidor
funcionario declaración conflicto interés fiscal fiscalía contraloría órgano
control ética integridad portal plataforma región distrito localidad
comunidad colonia población género igualdad educación salud vivienda empleo
inversión deuda ingreso egreso gasto recaudación impuesto tesorería finanza
informe acta minuta orden quórum votación unanimidad mayoría propuesta
dictamen aprobación asunto tema asistencia convocatoria publicación periódico
gaceta boletín comunicado aviso notaría notario testimonio firma sello
certificado registro padrón catálogo inventario inmueble vehículo proveedor
empresa sector organización academia universidad observatorio obligación
fracción artículo capítulo título anexo formato plazo término fecha periodo
ejercicio trimestre semestre calendario agenda reunión mesa taller foro
consulta encuesta opinión observación recomendación hallazgo irregularidad
daño perjuicio patrimonio erario monto importe partida capítulo concepto
clave código folio oficio memorándum circular manual procedimiento protocolo
política estrategia línea eje prioridad diagnóstico problema causa efecto
resultado impacto beneficio beneficiario apoyo subsidio beca subvención
donación convenio contratista obra proyecto estudio análisis dictamen
peritaje inspección verificación supervisión vigilancia monitoreo tablero
estadística gráfica mapa reporte documento versión corrección retractación
firma testigo cofirma bitácora registro historial secuencia raíz hoja árbol
prueba consistencia inclusión llave clave criptografía seguridad privacidad
consentimiento aviso derecho obligación cancelación oposición portabilidad
usuario cuenta contraseña correo teléfono domicilio dirección sitio página
noticia evento boletín entrevista discurso mensaje carta petición trámite
requisito costo tarifa pago multa recargo descuento devolución reembolso
escuela hospital clínica centro biblioteca museo parque calle avenida
carretera puente drenaje alumbrado basura limpieza mercado panteón rastro
policía bombero protección emergencia riesgo desastre inundación sismo
incendio sequía lluvia clima temperatura bosque río lago presa pozo
agricultura ganadería pesca industria comercio turismo cultura deporte arte
música teatro danza fiesta tradición lengua idioma historia memoria
niño niña joven adulto anciano persona familia hogar vecino habitante
migrante trabajador campesino maestro médico enfermera estudiante alumno
investigador periodista abogado contador ingeniero arquitecto técnico
administración gestión dirección coordinación jefatura unidad área oficina
departamento instituto organismo fideicomiso fondo banco crédito préstamo
tasa interés inflación economía mercado precio salario sueldo nómina plaza
puesto cargo nombramiento designación renuncia licencia suplente titular
elección candidato campaña voto urna casilla partido coalición encuesta
debate propaganda spot medio prensa radio televisión internet red
transmisión video audio imagen fotografía archivo descarga enlace búsqueda
consulta resultado filtro categoría etiqueta tipo estado año mes semana
lunes martes miércoles jueves viernes enero febrero marzo abril mayo junio
julio agosto septiembre octubre noviembre diciembre norte sur oriente
poniente centro capital valle sierra costa frontera zona territorio suelo
tierra agua aire energía electricidad gas petróleo minería mina recurso
instrumento mecanismo herramienta método modelo marco principio valor
honestidad lealtad imparcialidad eficiencia eficacia economía legalidad
objetividad profesionalismo austeridad disciplina rendimiento calidad
desempeño productividad competitividad innovación tecnología ciencia
conocimiento capacitación formación curso certificación competencia
habilidad experiencia trayectoria perfil currículum requisito vacante
comparecencia audiencia juicio demanda amparo apelación queja recurso
notificación emplazamiento citatorio comparecencia diligencia acuerdo
auto providencia ejecutoria jurisprudencia tesis precedente criterio
constitución estatuto código ley reglamento acuerdo circular lineamiento
"""

ADJECTIVES = """
público privado nacional estatal municipal federal local regional social
económico político jurídico legal administrativo fiscal financiero
presupuestal contable técnico operativo estratégico institucional oficial
ordinario extraordinario solemne anual trimestral mensual semanal diario
nuevo viejo grande pequeño mayor menor alto bajo largo corto amplio
importante necesario posible probable real actual anterior siguiente último
primero segundo tercero cuarto quinto general particular especial específico
abierto cerrado completo parcial total final inicial previo posterior
responsable corresponsable competente autorizado aprobado rechazado pendiente
vigente derogado publicado retractado corregido firmado verificado válido
inválido correcto incorrecto transparente opaco honesto corrupto íntegro
ciudadano humano civil penal laboral electoral agrario ambiental urbano rural
indígena digital electrónico físico personal sensible confidencial reservado
disponible accesible gratuito obligatorio voluntario directo indirecto
interno externo superior inferior central principal secundario básico
suficiente insuficiente adecuado eficiente eficaz efectivo claro preciso
"""

VERBS_AR = """
aprobar publicar presentar informar solicitar revisar analizar evaluar
fiscalizar auditar contratar licitar adjudicar firmar sellar registrar
consultar votar acordar proponer modificar reformar derogar sancionar
denunciar investigar notificar declarar transparentar rendir gestionar
administrar coordinar supervisar vigilar monitorear verificar validar
comprobar certificar capacitar participar colaborar trabajar ejecutar
implementar desarrollar mejorar fortalecer impulsar fomentar promover
garantizar asegurar proteger respetar cumplir señalar indicar mencionar
explicar detallar precisar aclarar justificar fundamentar motivar determinar
establecer fijar programar planear diseñar elaborar preparar integrar
actualizar cancelar suspender autorizar negar entregar recibir enviar
turnar remitir canalizar atender resolver contestar responder orientar
apoyar financiar pagar cobrar recaudar gastar invertir ahorrar asignar
"""

VERBS_ER_IR = """
cumplir recibir decidir permitir existir discutir escribir suscribir
prohibir definir dividir distribuir incluir excluir concluir construir
atribuir contribuir instruir difundir emitir remitir admitir omitir
transmitir asistir insistir resistir describir inscribir prescribir
aprender comprender depender responder corresponder proceder exceder
conceder comprometer someter cometer prometer temer vender beber correr
"""

# Proper names of Mexican states and cities seen in the three tenants.
NAMES = """
hidalgo puebla edomex méxico toluca pachuca tulancingo tlaxcala cholula
tehuacán atlixco ecatepec naucalpan nezahualcóyotl texcoco metepec zinacantepec
tizayuca tula huejutla ixmiquilpan actopan apan tepeji zacatlán teziutlán
"""

DOMAIN_QUERY_WORDS = """
transparencia corrupción compromiso sesión acuerdo municipio presupuesto
licitación contrato auditoría información solicitud denuncia sanción cabildo
reglamento ley informe evaluación indicador plan acción participación
ciudadana obra pública servidor declaración patrimonial fiscalización
anticorrupción comité consejo dictamen votación convocatoria
"""


def _plural(word: str) -> str | None:
    """Regular Spanish plural, or None when the rule is irregular/unsafe."""
    if word.endswith(("ión",)):
        return word[:-3] + "iones"
    if word[-1] in "aeiouáéó":
        return word + "s"
    if word.endswith("z"):
        return word[:-1] + "ces"
    if word.endswith(("dad", "tad", "or", "al", "il", "ar", "el", "ol", "ul")):
        return word + "es"
    return None


def _feminine(adj: str) -> str | None:
    if adj.endswith("o"):
        return adj[:-1] + "a"
    return None


def _verb_forms(inf: str) -> list[str]:
    stem, ending = inf[:-2], inf[-2:]
    if ending == "ar":
        return [inf, stem + "a", stem + "an", stem + "ado", stem + "ada", stem + "ó", stem + "aron", stem + "ando"]
    if ending == "er":
        return [inf, stem + "e", stem + "en", stem + "ido", stem + "ida", stem + "ió", stem + "ieron", stem + "iendo"]
    return [inf, stem + "e", stem + "en", stem + "ido", stem + "ida", stem + "ió", stem + "ieron", stem + "iendo"]


def build_vocabulary(seed: int = 7) -> list[str]:
    """Return the benchmark vocabulary in Zipf rank order (most frequent first).

    Frequent words keep their CREA order at the top; the rest (nouns and
    their plurals, adjectives in four forms, regular verb forms, place
    names) are shuffled with a fixed seed below them.
    """
    seen: set[str] = set()
    head: list[str] = []
    for w in FREQUENT.split():
        if w not in seen:
            seen.add(w)
            head.append(w)
    tail: list[str] = []

    def add(w: str | None) -> None:
        if w and w not in seen:
            seen.add(w)
            tail.append(w)

    for n in NOUNS.split():
        add(n)
        add(_plural(n))
    for a in ADJECTIVES.split():
        add(a)
        add(_plural(a))
        f = _feminine(a)
        add(f)
        if f:
            add(_plural(f))
    for v in VERBS_AR.split() + VERBS_ER_IR.split():
        for form in _verb_forms(v):
            add(form)
    for n in NAMES.split():
        add(n)
    random.Random(seed).shuffle(tail)
    return head + tail


# ---------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------

TENANTS = ("hidalgo", "puebla", "edomex")
CONTENT_TYPES = ("page", "news", "stl_session", "commitment", "criterion", "notary_entry")
STATUSES = ("published", "published", "published", "corrected", "retracted")
YEARS = tuple(range(2018, 2027))


class Zipf:
    """Sample word ranks with P(rank r) proportional to 1 / r**s."""

    def __init__(self, words: list[str], s: float = 1.0, seed: int = 1):
        self.words = words
        weights = [1.0 / (r**s) for r in range(1, len(words) + 1)]
        self.cum = list(itertools.accumulate(weights))
        self.rng = random.Random(seed)

    def sample(self, k: int) -> list[str]:
        """``k`` words drawn independently."""
        total = self.cum[-1]
        cum = self.cum
        words = self.words
        rand = self.rng.random
        return [words[bisect.bisect_left(cum, rand() * total)] for _ in range(k)]


def _sentence_text(words: list[str], rng: random.Random) -> str:
    out = []
    i = 0
    while i < len(words):
        n = rng.randint(8, 20)
        chunk = words[i : i + n]
        if chunk:
            chunk[0] = chunk[0].capitalize()
            out.append(" ".join(chunk) + ".")
        i += n
    return " ".join(out)


def make_corpus(n: int, seed: int = 42, words_per_doc: int = 300) -> list[SearchDocument]:
    """Generate ``n`` synthetic Spanish documents (deterministic for a seed)."""
    vocab = build_vocabulary()
    zipf = Zipf(vocab, 1.0, seed)
    rng = random.Random(seed)
    base = datetime(2018, 1, 1, tzinfo=timezone.utc)
    span = (datetime(2026, 12, 31, tzinfo=timezone.utc) - base).total_seconds()
    docs = []
    for i in range(n):
        tenant = TENANTS[i % len(TENANTS)]
        ctype = CONTENT_TYPES[rng.randrange(len(CONTENT_TYPES))]
        published = base + timedelta(seconds=rng.random() * span)
        body_words = zipf.sample(rng.randint(words_per_doc - 60, words_per_doc + 60))
        title_words = zipf.sample(rng.randint(4, 10))
        title = " ".join(title_words).capitalize()
        codes = []
        if ctype == "stl_session":
            codes.append(f"STL-{tenant[:3].upper()}/ORD{rng.randint(1, 30)}/{published.year}/{rng.randint(1, 12):02d}")
        if ctype == "criterion":
            codes.append(f"{rng.randint(1, 20)}.{rng.randint(1, 9)}")
        docs.append(
            SearchDocument(
                id=f"{tenant}:{ctype}:{i}",
                tenant=tenant,
                content_type=ctype,
                title=title,
                body=_sentence_text(body_words, rng),
                url=f"/{tenant}/{ctype}/{i}",
                published_at=published,
                year=published.year,
                status=STATUSES[rng.randrange(len(STATUSES))],
                language="es",
                version=1,
                keywords=tuple(codes),
            )
        )
    return docs


def make_queries(n: int, seed: int = 99) -> list[tuple[str, str]]:
    """Return ``n`` (query text, tenant) pairs: 1-3 content words each.

    Half of the words come from the domain list (transparencia, corrupción,
    ...), half from the content vocabulary (no stop words) weighted by
    frequency**0.5, so both common and rarer words are queried.  A third of
    the words are typed without accents, as users do.
    """
    rng = random.Random(seed)
    vocab = [w for w in build_vocabulary() if fold(w) not in SPANISH_STOP_WORDS]
    weights = [1.0 / (r**0.5) for r in range(1, len(vocab) + 1)]
    domain = DOMAIN_QUERY_WORDS.split()
    out = []
    for _ in range(n):
        k = rng.choice((1, 1, 2, 2, 2, 3))
        words = []
        for _ in range(k):
            w = rng.choice(domain) if rng.random() < 0.5 else rng.choices(vocab, weights)[0]
            if rng.random() < 0.33:
                w = fold(w)
            words.append(w)
        out.append((" ".join(words), rng.choice(TENANTS)))
    return out


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------


def _dir_size_mb(path: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total / 1e6


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def _run_queries(backend, queries, rcache=None) -> tuple[list, list, list]:
    """Run every query once; return (wall ms, CPU ms, totals) lists.

    With ``rcache`` (a :class:`ResultCache`), each query goes through it as in the app
    (normalized query, key with the backend's index token and the epoch, look-up, search on a
    miss); the tenants' generations are a constant here (nothing is published during the run).
    """
    lat, cpu, totals = [], [], []
    for text, tenant in queries:
        q = SearchQuery(text=text, tenant=tenant, facets=True, highlight=True, per_page=10)
        c = time.process_time()
        t = time.perf_counter()
        if rcache is None:
            res = backend.search(q)
        else:
            q = normalize_query(q)
            key = rcache.key(q, generations=[(tenant, "bench")], index_token=backend.index_token() or "",
                             language="es_MX", epoch=rcache.epoch())
            res, _hit = rcache.get_or_compute(key, lambda: backend.search(q))
        lat.append((time.perf_counter() - t) * 1000.0)
        cpu.append((time.process_time() - c) * 1000.0)
        totals.append(res.total)
    return lat, cpu, totals


def _pg_size_mb(backend) -> float:
    """Size of the PostgreSQL backend's tables and indexes, MB."""
    from sqlalchemy import text

    with backend.engine.connect() as conn:
        return conn.execute(text(
            "SELECT pg_total_relation_size('search_documents') + pg_total_relation_size('search_words')"
        )).scalar() / 1e6


def bench_backend(name, make_backend, docs, queries, workdir: Path, log, make_cold=None, reuse=False,
                  cache_store=None) -> dict:
    """Run every measurement for one backend; return a dict of figures.

    ``make_cold(path)``, if given, opens the same index without query caches;
    its latency is reported as the cold-cache p95.  With ``reuse``, an index
    already built in ``workdir/name`` holding ``len(docs)`` documents is
    searched as it is (no rebuild: the rebuild columns are then ``nan``).
    ``cache_store()``, if given, returns the cachelib cache the result-cache
    pass uses.
    """
    path = workdir / name
    reused = reuse and name != "postgres" and (path / "CURRENT").exists()
    if path.exists() and not reused:
        shutil.rmtree(path)
    backend = make_backend(path)

    last = [time.perf_counter()]

    def progress(done, total):
        now = time.perf_counter()
        if now - last[0] > 10:
            last[0] = now
            log(f"  {name}: {done}/{total} documents")

    def cpu_now():
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    load_before = os.getloadavg()[0]
    c0 = cpu_now()
    t0 = time.perf_counter()
    if reused and backend.count() == len(docs):
        log(f"  {name}: reusing the index in {path} ({len(docs)} documents, not rebuilt)")
        build_s = build_cpu = float("nan")
    else:
        backend.rebuild(iter(docs), progress=progress)
        build_s = time.perf_counter() - t0
        build_cpu = cpu_now() - c0
    size_mb = _pg_size_mb(backend) if isinstance(backend, PostgresBackend) else _dir_size_mb(path)
    log(f"  {name}: rebuilt {len(docs)} docs in {build_s:.1f} s, {size_mb:.1f} MB")

    # Warm-up (open searcher, caches), not timed.
    for text, tenant in queries[:5]:
        backend.search(SearchQuery(text=text, tenant=tenant, facets=True, highlight=True, per_page=10))

    lat, cpu, totals = _run_queries(backend, queries)
    # The same queries again: the engine's postings and score caches are warm (popular words).
    warm_lat, warm_cpu, _ = _run_queries(backend, queries)
    # And through the app's result cache (comun_cms/search/result_cache.py): filled by one
    # pass, then every query is a repeat answered from the cache.
    store = cache_store() if cache_store else None
    cached_lat = cached_cpu = [float("nan")]
    if store is not None:
        rcache = ResultCache(store, prefix="bench-search:%d:" % os.getpid())
        _run_queries(backend, queries, rcache)
        cached_lat, cached_cpu, cached_totals = _run_queries(backend, queries, rcache)
        assert cached_totals == totals, "the result cache answered differently"
    cold_p95 = float("nan")
    if make_cold is not None:
        cold = make_cold(path)
        cold_lat, _cold_cpu, _ = _run_queries(cold, queries)
        cold_p95 = _pct(cold_lat, 95)
        cold.close()

    # Freshness: one new document, index it, poll until search returns it.
    fresh_doc = SearchDocument(
        id="hidalgo:page:fresh-1",
        tenant="hidalgo",
        content_type="page",
        title="Documento recién publicado zzfrescura",
        body="Contenido nuevo con la palabra zzfrescura para medir la frescura del índice.",
        url="/hidalgo/page/fresh-1",
        published_at=datetime.now(timezone.utc),
        year=datetime.now(timezone.utc).year,
        status="published",
        language="es",
        version=1,
    )
    t = time.perf_counter()
    backend.index_documents([fresh_doc])
    found = False
    while time.perf_counter() - t < 60:
        r = backend.search(SearchQuery(text="zzfrescura", tenant="hidalgo"))
        if r.total:
            found = True
            break
        time.sleep(0.005)
    fresh_s = time.perf_counter() - t if found else float("nan")
    backend.delete_documents([fresh_doc.id])  # leave the corpus as built (--reuse counts it)
    backend.close()
    return {
        "backend": name,
        "docs": len(docs),
        "build_s": build_s,
        "build_cpu": build_cpu,
        "docs_per_s": len(docs) / build_s,
        "load": (load_before + os.getloadavg()[0]) / 2,
        "cpu_p50_ms": statistics.median(cpu),
        "cpu_p95_ms": _pct(cpu, 95),
        "cold_p95_ms": cold_p95,
        "size_mb": size_mb,
        "fresh_s": fresh_s,
        "p50_ms": statistics.median(lat),
        "p95_ms": _pct(lat, 95),
        "warm_p50_ms": statistics.median(warm_lat),
        "warm_p95_ms": _pct(warm_lat, 95),
        "warm_cpu_p95_ms": _pct(warm_cpu, 95),
        "cached_p50_ms": statistics.median(cached_lat),
        "cached_p95_ms": _pct(cached_lat, 95),
        "cached_cpu_p95_ms": _pct(cached_cpu, 95),
        "max_ms": max(lat),
        "mean_hits": statistics.mean(totals),
        "queries": len(queries),
    }


def main(argv=None) -> int:
    """Parse arguments, run every size and backend, print the Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, nargs="+", default=[20000, 100000], help="corpus sizes")
    ap.add_argument("--queries", type=int, default=200, help="queries per corpus size")
    ap.add_argument("--quick", action="store_true", help="2,000 docs and 50 queries (smoke run)")
    ap.add_argument("--backends", default="whoosh,sqlite",
                    help="comma list: whoosh,sqlite,postgres (postgres needs --database-url)")
    ap.add_argument("--database-url", default=None,
                    help="PostgreSQL database for the postgres backend (postgresql://...); its search "
                         "tables are rebuilt: use a scratch database")
    ap.add_argument("--workdir", default=None, help="where to build indexes (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the index directories")
    ap.add_argument("--reuse", action="store_true",
                    help="with --workdir: search an index already built there by an earlier run "
                         "(same --docs) instead of rebuilding it; the directories are kept")
    ap.add_argument("--cache-url", default=None,
                    help="redis://... for the result-cache pass (default: an in-process cachelib SimpleCache)")
    args = ap.parse_args(argv)
    if args.reuse and not args.workdir:
        ap.error("--reuse needs --workdir (the folder of the earlier run)")
    if args.quick:
        args.docs = [2000]
        args.queries = 50

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="comun-search-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    backends = {}
    cold = {}
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "whoosh" in names:
        backends["whoosh"] = lambda p: WhooshBackend(p)
        cold["whoosh"] = lambda p: WhooshBackend(p, postings_cache=0)
    if "sqlite" in names and SQLiteFTSBackend is not None:
        backends["sqlite-fts5"] = lambda p: SQLiteFTSBackend(p)
    if "postgres" in names:
        if not args.database_url:
            ap.error("--backends postgres needs --database-url postgresql://...")
        backends["postgres"] = lambda p: PostgresBackend(args.database_url)

    def cache_store():
        if args.cache_url:
            import redis
            from cachelib import RedisCache
            return RedisCache(host=redis.Redis.from_url(args.cache_url), default_timeout=600)
        from cachelib import SimpleCache
        return SimpleCache(threshold=10_000, default_timeout=600)

    rows = []
    try:
        for n in args.docs:
            log(f"generating {n} documents ...")
            t = time.perf_counter()
            docs = make_corpus(n)
            log(f"  generated in {time.perf_counter() - t:.1f} s")
            queries = make_queries(args.queries)
            for name, factory in backends.items():
                rows.append(
                    bench_backend(name, factory, docs, queries, workdir / str(n), log, cold.get(name),
                                  reuse=args.reuse, cache_store=cache_store)
                )
                r = rows[-1]
                log(
                    f"  {name}: p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms "
                    f"(CPU p95 {r['cpu_p95_ms']:.1f} ms, no-cache p95 {r['cold_p95_ms']:.1f} ms); "
                    f"repeated: p50 {r['warm_p50_ms']:.1f} ms, p95 {r['warm_p95_ms']:.1f} ms "
                    f"(CPU p95 {r['warm_cpu_p95_ms']:.1f} ms); result cache: p50 {r['cached_p50_ms']:.2f} ms, "
                    f"p95 {r['cached_p95_ms']:.2f} ms (CPU p95 {r['cached_cpu_p95_ms']:.2f} ms)"
                )
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(
        "| backend | docs | rebuild wall (s) | rebuild CPU (s) | docs/s | size (MB) | freshness (s) "
        "| query p50 (ms) | query p95 (ms) | max (ms) | CPU p50 (ms) | CPU p95 (ms) "
        "| p95 no cache (ms) | mean hits | load |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['docs']:,} | {r['build_s']:.1f} | {r['build_cpu']:.1f} "
            f"| {r['docs_per_s']:.0f} | {r['size_mb']:.1f} | {r['fresh_s']:.3f} | {r['p50_ms']:.1f} "
            f"| {r['p95_ms']:.1f} | {r['max_ms']:.1f} | {r['cpu_p50_ms']:.1f} | {r['cpu_p95_ms']:.1f} "
            f"| {r['cold_p95_ms']:.1f} | {r['mean_hits']:.0f} | {r['load']:.1f} |"
        )
    print()
    print("| backend | docs | repeated p50 (ms) | repeated p95 (ms) | repeated CPU p95 (ms) "
          "| result cache p50 (ms) | result cache p95 (ms) | result cache CPU p95 (ms) | cache | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['docs']:,} | {r['warm_p50_ms']:.1f} | {r['warm_p95_ms']:.1f} "
            f"| {r['warm_cpu_p95_ms']:.1f} | {r['cached_p50_ms']:.2f} | {r['cached_p95_ms']:.2f} "
            f"| {r['cached_cpu_p95_ms']:.2f} | {'redis' if args.cache_url else 'in-process'} | {r['load']:.1f} |"
        )
    print()
    print(
        f"{args.queries} queries of 1-3 words per size, tenant filter + facets + "
        "top-10 highlighted snippets; wall-clock latency and the process CPU time "
        "of each query (CPU is what the query costs when the machine is shared); "
        "'no cache' reopens the Whoosh index with postings_cache=0 (every query "
        "decodes its posting lists); PostgreSQL CPU columns are this process only; "
        "'load' is the 1-minute load average during the run. Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
