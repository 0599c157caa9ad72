"""Spanish ordinal numbers (1..99) and official session titles.

Sessions are named by ordinal in Mexican official usage: "Décima Novena Sesión Ordinaria",
"Tercera Sesión Extraordinaria". Compound ordinals are written as two words with their own
accents ("Décima Novena", "Vigésima Primera"), a form the RAE accepts next to the fused one
("decimonovena") and the one the Estado de México STL uses. Source: RAE, *Diccionario
panhispánico de dudas*, "ordinales" (2005) and *Ortografía* (2010) § 4.2.4.2.
"""
from __future__ import annotations

_UNITS_F = ("", "primera", "segunda", "tercera", "cuarta", "quinta", "sexta", "séptima", "octava", "novena")
_TENS_F = ("", "décima", "vigésima", "trigésima", "cuadragésima", "quincuagésima", "sexagésima",
           "septuagésima", "octogésima", "nonagésima")

#: Session-kind suffixes of the official title.
_KIND_TITLES = {"regular": "Sesión Ordinaria", "special": "Sesión Extraordinaria", "inaugural": "Sesión de Instalación"}


def ordinal_es(number: int, feminine: bool = True, apocope: bool = False, capitalize: bool = True) -> str:
    """Return the Spanish ordinal of ``number`` (1..99) in words.

    Args:
        number: 1 to 99.
        feminine: feminine form ("décima novena", for *sesión*); masculine otherwise
            ("décimo noveno", for *acuerdo*).
        apocope: masculine forms before a noun drop the final ``-o`` of *primero* and *tercero*
            ("vigésimo primer acuerdo"); ignored for the feminine.
        capitalize: capitalize every word, as in session titles ("Décima Novena").

    Returns:
        The ordinal, e.g. ``ordinal_es(19) == "Décima Novena"``, ``ordinal_es(3, feminine=False,
        apocope=True) == "Tercer"``.

    Raises:
        ValueError: ``number`` is not an integer between 1 and 99.
    """
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 99:
        raise ValueError(f"ordinal_es needs an integer from 1 to 99, got {number!r}")
    tens, units = divmod(number, 10)
    words = [w for w in (_TENS_F[tens], _UNITS_F[units]) if w]
    if not feminine:
        words = [w[:-1] + "o" for w in words]
        if apocope and words[-1] in ("primero", "tercero"):
            words[-1] = words[-1][:-1]
    if capitalize:
        words = [w[0].upper() + w[1:] for w in words]
    return " ".join(words)


def session_title(number: int | None, kind: str) -> str:
    """Return the official Spanish title of a session.

    ``session_title(19, "regular") == "Décima Novena Sesión Ordinaria"``;
    ``session_title(1, "inaugural") == "Sesión de Instalación"`` (an inaugural session is unique,
    so it has no ordinal); a number outside 1..99 is written in digits
    (``"Sesión Ordinaria número 120"``), and a missing number gives just the kind.
    """
    suffix = _KIND_TITLES.get(kind, "Sesión")
    if kind == "inaugural" or not number:
        return suffix
    if 1 <= number <= 99:
        return f"{ordinal_es(number)} {suffix}"
    return f"{suffix} número {number}"
