"""Rules that take page and template residue out of a list of paragraphs.

Each rule is a pattern over paragraphs, not over particular sites: where it
looks (head of the text, tail, anywhere), what a residue paragraph looks like,
and what it must leave alone. Metadata found on the way (a date line, a
`Source:` footer, a byline) is handed back instead of thrown away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from newsdesk.tasks.extract.clean.dates import is_date, parse_date
from newsdesk.tasks.extract.clean.paragraphs import Para

# How far into the text a header element (breadcrumb, date line, byline) may sit.
HEAD_PARAGRAPHS = 4


@dataclass(slots=True)
class Found:
    """Metadata met while removing residue; the first value found wins."""

    values: dict[str, object] = field(default_factory=dict)

    def add(self, key: str, value: object) -> None:
        if value not in (None, "") and key not in self.values:
            self.values[key] = value


# --- breadcrumbs --------------------------------------------------------------

_CRUMB_MARKS = ("»", "›", ">", "→", "/", "|", "::")
_CRUMB_SEPARATOR = re.compile(r"\s+(?:»|›|>|→|/|\||::|>>)\s+|\s*[»›]\s*")


def is_breadcrumb(text: str) -> bool:
    """`Home » World » Asia » Title`: three or more short segments joined by a
    separator; the last segment may be a page title, the others are menu labels."""
    if not any(mark in text for mark in _CRUMB_MARKS):
        return False
    if text[0] in "|/>»›" or text[-1] in "|/>»›":  # a table row, not a trail
        return False
    segments = [s.strip() for s in _CRUMB_SEPARATOR.split(text)]
    if len(segments) < 3 or any(not s for s in segments):
        return False
    *labels, last = segments
    if any(len(s.split()) > 5 or len(s) > 40 or s.endswith((".", ",", ";", ":")) for s in labels):
        return False
    return len(last.split()) <= 30 and not last.endswith((".", ";", ","))


def drop_breadcrumbs(paras: list[Para]) -> list[Para]:
    head = [p for p in paras[:HEAD_PARAGRAPHS] if not (p.kind == "p" and is_breadcrumb(p.text))]
    return head + paras[HEAD_PARAGRAPHS:]


# --- label lines: "Date: 2019-12-12", "Source: DIGITIMES" ---------------------

_LABEL = re.compile(r"^([^\W\d_]+(?: [^\W\d_]+){0,3}?)\s*:\s*(.+)$")
# What each label feeds; None: recognised residue with nothing worth keeping.
LABELS: dict[str, str | None] = {
    "title": "title",
    "headline": "title",
    "date": "published",
    "published": "published",
    "published on": "published",
    "publication date": "published",
    "posted": "published",
    "posted on": "published",
    "updated": None,
    "last updated": None,
    "modified": None,
    "source": "source_name",
    "via": "source_name",
    "publisher": "source_name",
    "author": "author",
    "authors": "author",
    "by": "author",
    "byline": "author",
    "written by": "author",
    "reporter": "author",
    "url": "url",
    "link": "url",
    "original": "url",
    "tags": None,
    "tag": None,
    "category": None,
    "categories": None,
    "filed under": None,
    "topics": None,
    "keywords": None,
    "photo": None,
    "image": None,
    "credit": None,
    "photo credit": None,
    # The same labels in the languages newsdesk meets most.
    "quelle": "source_name",
    "fuente": "source_name",
    "fonte": "source_name",
    "źródło": "source_name",
    "bron": "source_name",
    "autor": "author",
    "auteur": "author",
    "autore": "author",
    "datum": "published",
    "fecha": "published",
    "veröffentlicht": "published",
    "veröffentlicht am": "published",
    "publié le": "published",
    "publicado": "published",
    "release date": "published",
    "aktualisiert": None,
    "aktualisiert am": None,
    "letzte änderung": None,
    "letzte aktualisierung": None,
    "stand": None,
    "last modified": None,
    "mis à jour": None,
    "actualizado": None,
    "schlagwörter": None,
    "stichwörter": None,
    "kategorie": None,
    "kategorien": None,
    "rubrik": None,
    "etiquetas": None,
    "étiquettes": None,
    "foto": None,
    "fotos": None,
    "bild": None,
}
_DATE_LABELS = {k for k, v in LABELS.items() if v == "published"} | {
    "updated",
    "last updated",
    "modified",
    "aktualisiert",
    "aktualisiert am",
    "letzte änderung",
    "letzte aktualisierung",
    "stand",
    "last modified",
    "mis à jour",
    "actualizado",
}


def parse_label(text: str) -> tuple[str, str | None, str] | None:
    """(label, field or None, value) when the paragraph is a metadata label line."""
    match = _LABEL.match(text)
    if not match:
        return None
    label, value = match.group(1).strip().lower(), match.group(2).strip()
    if label not in LABELS:
        return None
    if label in _DATE_LABELS:
        value = value.rstrip(".")
        return (label, LABELS[label], value) if is_date(value) else None
    # A label's value is a name or a short list, never a sentence.
    if len(value) > 120 or len(value.split()) > 12 or value.endswith((".", "!", "?")) and len(value.split()) > 3:
        return None
    return label, LABELS[label], value


def take_label_lines(paras: list[Para], found: Found) -> list[Para]:
    """Label lines in a run at the very start or the very end of the text."""
    start = 0
    while start < len(paras) and paras[start].kind == "p" and (label := parse_label(paras[start].text)):
        _record_label(label, found)
        start += 1
    end = len(paras)
    while end > start:
        para = paras[end - 1]
        if para.kind == "end":
            end -= 1
            continue
        label = parse_label(para.text) if para.kind == "p" else None
        if not label:
            break
        _record_label(label, found)
        end -= 1
    # Keep an end mark so the end-mark rule still sees it.
    tail = [p for p in paras[end:] if p.kind == "end"]
    return paras[start:end] + tail


def _record_label(label: tuple[str, str | None, str], found: Found) -> None:
    _, field_name, value = label
    if field_name == "published":
        found.add("published", value)  # the text: its precision is read from it
    elif field_name == "url":
        if value.startswith(("http://", "https://")):
            found.add("url", value)
    elif field_name:
        found.add(field_name, value)


# --- date lines and bylines near the top --------------------------------------

_DATE_PREFIX = re.compile(
    r"^(?:published|posted|updated|last updated|last modified|first published|date|on|veröffentlicht|aktualisiert"
    r"|letzte (?:änderung|aktualisierung)|stand|publié|mis à jour|publicado|actualizado|pubblicato|aggiornato)"
    r"\s*:?\s*(?:(?:on|am|le|el|il)\s+)?",
    re.I,
)
_BYLINE = re.compile(
    r"^By\s+([A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|de|van|von|der|da|di|al|bin|and|&))*"
    r"(?:\s*,\s*[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*)*)*)\s*$"
)
_PART_SEPARATOR = re.compile(r"\s+[|·•—–-]\s+")


def date_line(text: str):
    """The date when the paragraph is a date and nothing more ("Published: 4 Jan 2023")."""
    candidate = date_text(text)
    return parse_date(candidate) if candidate else None


def date_text(text: str) -> str | None:
    """The date's text when the paragraph is a date and nothing more ("Published: 4 Jan 2023" -> "4 Jan 2023")."""
    candidate = _DATE_PREFIX.sub("", text).strip().rstrip(".")
    return candidate if is_date(candidate) else None


def byline(text: str) -> str | None:
    match = _BYLINE.match(text)
    if match and len(text.split()) <= 12:
        return match.group(1)
    return None


def take_header_lines(paras: list[Para], found: Found) -> list[Para]:
    """Date lines and bylines among the first paragraphs, alone or combined
    ("By Jane Roe | March 3, 2024"); a date line in the last paragraph too."""
    kept = []
    for index, para in enumerate(paras):
        near_edge = index < HEAD_PARAGRAPHS or index == len(paras) - 1
        if near_edge and para.kind == "p" and _header_metadata(para.text, found):
            continue
        kept.append(para)
    return kept


def _header_metadata(text: str, found: Found) -> bool:
    if len(text) > 160:
        return False
    parts = _PART_SEPARATOR.split(text)
    values = []
    for part in parts:
        when = date_text(part) if date_line(part) else None
        who = None if when else byline(part)
        if not (when or who):
            return False
        values.append(("published", when) if when else ("author", who))
    for key, value in values:
        found.add(key, value)
    return True


# --- end marks ----------------------------------------------------------------


def cut_at_end_mark(paras: list[Para]) -> list[Para]:
    """A press-release end mark ("###", "-30-") closes the article: what follows
    (boilerplate about the company, media contacts) goes too, unless it is longer
    than the article before it, which means the mark was not an end."""
    marks = [i for i, p in enumerate(paras) if p.kind == "end"]
    if not marks:
        return paras
    last = marks[-1]
    before = sum(len(p.text) for p in paras[:last])
    after = sum(len(p.text) for p in paras[last + 1 :])
    if after < before:
        paras = paras[:last]
    return [p for p in paras if p.kind != "end"]


# --- page furniture anywhere: share bars, newsletter boxes, photo credits ------

# Share targets as share bars list them, and the verb "share" in the languages
# newsdesk meets most: a share bar reads the same on every site.
_NETWORKS = (
    r"facebook|twitter|x|linkedin|whatsapp|pinterest|reddit|e-?mail|mail|print|drucken|imprimer|imprimir|stampa"
    r"|telegram|xing|flipboard|tumblr|messenger|instagram|youtube|threads|bluesky|mastodon|pocket|sms"
    r"|copy link|link kopieren|copier le lien|copiar enlace"
)
_SHARE = r"share|sharing|teilen|partager|partagez|compartir|compartilhe|compartilhar|condividi|udostępnij|delen|dela"
# What may stand between "Share" and the networks: "Share this article on", "Teilen mit:".
_SHARE_FILLER = (
    r"this|it|now|on|via|with|the|story|article|post|page|mit|diesen|artikel|beitrag|sur|cet|article|l'article"
    r"|en|esto|este|artículo|su|questo|articolo|na|op"
)
_SIGN_UP = r"sign up|subscribe|abonnieren|anmelden|abonnez-vous|inscrivez-vous|suscríbete|suscribirse|iscriviti|assine|zapisz się"
_NEWSLETTER = r"newsletters?|boletín|infolettre|lettre d'information"
_READ_ALSO = (
    r"lea también|lee también|vea también|ver también|le puede interesar|te puede interesar|lesen sie auch|lies auch"
    r"|auch interessant|mehr zum thema|weitere artikel|leggi anche|lire aussi|à lire aussi|a lire aussi|voir aussi"
    r"|leia também|veja também|czytaj (?:też|także)|zobacz (?:też|także)|lees ook"
)
_CONTINUE = (
    r"weiter zu|weiterlesen|continue reading|keep reading|read more|leer más|seguir leyendo|lire la suite"
    r"|continua a leggere|continuar lendo"
)

# (pattern, most words a matching line may have): past that, it is prose.
_FURNITURE = [
    (re.compile(p, re.I), words)
    for p, words in (
        (
            r"^(?:share|tweet|pin|e-?mail|print)(?: (?:this|it|the) ?(?:story|article|post|page)?)?(?: (?:on|via|with) \w+)*[.!:]?$",
            8,
        ),
        # A share bar: "Share this: Facebook | X", "Teilen mit:", "Share on WhatsApp".
        (rf"^(?:{_SHARE})\b(?:\s+(?:{_SHARE_FILLER})\b)*\s*[:!.|]?(?:\s*(?:{_NETWORKS})\b\s*[|·•,/]?)*$", 15),
        # A row of network names: "Facebook Twitter LinkedIn E-Mail".
        (rf"^(?:(?:{_NETWORKS})\b\s*[|·•,/]?\s*){{2,}}$", 12),
        (
            r"^(?:like|love|enjoy(?:ed)?) this (?:story|article|post)\b|\bshare (?:it|this) with (?:a|your) friends?\b",
            15,
        ),
        (r"^follow (?:us|@\w+|[\w ]{1,40} on (?:twitter|x|facebook|instagram|linkedin|threads|bluesky))\b", 60),
        (r"\bfollow (?:us|him|her|them|me|@\w+) on (?:twitter|x|facebook|instagram|linkedin|threads|bluesky)\b", 40),
        (r"^(?:folg(?:e|en sie) uns|suivez[- ]nous|síguenos|seguici|siga-nos|segue-nos|obserwuj nas|volg ons)\b", 40),
        # "Join our Telegram channel", "¡Mira lo que tiene nuestro canal de YouTube!"
        (r"\b(?:channel|canal|kanal)\b.{0,40}\b(?:youtube|telegram|whatsapp)\b", 25),
        (r"\bdownload (?:the|our) [\w' -]{0,40}\bapps?\b", 25),
        (r"^click to tweet$", 3),
        (r"^(?:have|got) a (?:news )?tip\b", 40),
        (r"^[\w' &-]{0,40}\bnewsletter$", 6),
        (r"^(?:sign up|subscribe)\b", 30),
        (rf"\b(?:{_SIGN_UP})\b.{{0,80}}\b(?:{_NEWSLETTER})\b|\b(?:{_NEWSLETTER})\b.{{0,80}}\b(?:{_SIGN_UP})\b", 40),
        # A line that ends in the sign-up button: "... never miss our top stories Free Sign Up".
        (r"\b(?:sign up|subscribe|abonnieren)(?: here| now| today| for free)?[.!]?$", 20),
        (
            r"\bclick here\b|\b(?:hier klicken|klicken sie hier|cliquez ici|haga clic aquí|haz clic aquí|clic aquí"
            r"|clicca qui|clique aqui|kliknij tutaj)\b",
            30,
        ),
        (r"^(?:\d+ )?comments?$|^(?:leave|post|add|write) a (?:comment|reply)\b|^tell us what you think", 10),
        (
            r"^(?:keine kommentare|kein kommentar|kommentare?|kommentar schreiben|aucun commentaire|commentaires?"
            r"|sin comentarios|comentarios?|nessun commento|commenti|no comments)\b(?:\s*\(.*\))?$",
            10,
        ),
        (r"^(?:loading|wird geladen|chargement|cargando|caricamento)\s*(?:\.{1,3}|…)?$", 3),
        (
            r"^(?:advertisement|sponsored(?: content)?|story continues below(?: advertisement)?|skip (?:ad|advertisement))$",
            4,
        ),
        (r"^\*?(?:werbung|anzeige|publicidad|publicité)\s*[.:*]|\baffiliate[- ]links?\b|\benthält werbung\b", 40),
        (r"^(?:photo|photograph|image|picture|illustration|graphic|video)s?(?: credit)?\s*[:|]", 30),
        (r"^\(?(?:foto|fotos|bild|bilder|fotografía|crédits?(?: photos?)?|crédito|créditos|credit|copyright)\s*:", 20),
        (
            r"^\(?(?:photo|image|picture)s? (?:by|courtesy(?: of)?|credit)\b|\b(?:photo|image|picture)s?\s*(?:©|\(c\)|credit\s*:)",
            30,
        ),
        # A wire or photo credit standing alone ("© Reuters") or closing a caption ("... | © Springer").
        (r"(?:^|[|(/–]\s*)(?:©|\(c\))\s*[\w .&/-]{1,40}\)?\.?$", 25),
        (r"\((?:foto|photo|bild|image|crédito|credit)s?\s*:[^)]{1,80}\)\.?$", 30),
        (r"^also on [\w.-]+\.[a-z]{2,}\s", 25),
        (rf"^(?:{_READ_ALSO})\b", 30),
        (rf"^[.…\s]*(?:{_CONTINUE})\b", 10),
        # Headlines tagged with their section: "Plague fears grow [INSIGHT]".
        (r"(?-i:\[[A-Z][A-Z ]{2,15}\])\s*\|?$", 25),
        # Sign-offs: "Reporting by ...; editing by ...", "X contributed to this report."
        (r"^\(?(?:reporting|writing|editing|additional reporting|compiled|produced) by\b", 50),
        (r"\bcontributed(?: reporting)? to this (?:report|story|article)\.?\)?$", 15),
        (r"^if you (?:enjoyed|liked|value|appreciate) (?:this|our) (?:article|story|post|journalism|reporting)\b", 60),
        (r"^this (?:copy|article|material) is for your personal,? non-?commercial use only\b", 60),
        # A label whose only value is a link: "Listen: https://...", "iTunes: https://..."
        (r"^[\w][\w ]{0,20}:\s*https?://\S+$", 6),
        (
            r"^(?:updated|posted|published|last updated)(?: at| on)?:?\s+\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?(?:\s+[A-Z]{2,4})?\.?$",
            6,
        ),
        (
            r"^(?:read more|read also|also read|see also|see more|related(?: articles?| stor(?:y|ies)| coverage)?|more from [\w.-]+)\s*[:»>|-]\s*\S",
            15,
        ),
    )
]


# What every furniture pattern needs, as two quick tests that rule out most
# paragraphs before the patterns are tried one by one: a first word (checked at
# the start only), or a phrase anywhere. Keep them in step with the list above.
# Matched against the lower-cased start of the line (case-insensitive matching is slow).
_FURNITURE_START = re.compile(
    r"[\W_]*(?:share|tweet|pin|e-?mail|print|like|love|enjoy|follow|have|got|sign|subscribe|\d+ comment|comment|leave"
    r"|post|add|write|tell|advertisement|sponsored|story|skip|photo|image|picture|illustration|graphic|video|also"
    r"|reporting|writing|editing|additional|compiled|produced|if|this|updated|posted|published|last|read|see"
    r"|related|more|click|loading|keine|kein|kommentar|aucun|comment|sin|nessun|no comments|wird|chargement|cargando"
    r"|caricamento|werbung|anzeige|publicidad|publicité|foto|bild|crédit|credit|copyright|©|\(c\)|folg|suivez"
    rf"|síguenos|seguici|siga|segue|obserwuj|volg|{_SHARE}|{_NETWORKS}|{_READ_ALSO}|{_CONTINUE}"
    r"|\w[\w ]{0,20}:\s*https?://)"
)
# Searched in the lower-cased text: case-insensitive matching is several times slower.
_FURNITURE_ANYWHERE = re.compile(
    r"share (?:it|this) with|follow (?:us|him|her|them|me|@)|newsletter|sign up|subscribe|abonnieren|click here"
    r"|contributed|©|\(c\)|credit\s*:|\[|boletín|infolettre|lettre d'information|channel|canal|kanal|download"
    r"|affiliate|werbung|klick|cliquez|clic|clicca|clique|kliknij|\((?:foto|photo|bild|image|crédito|credit)"
)
_FURNITURE_MAX_CHARS = 800


def is_furniture(text: str) -> bool:
    """A line of page furniture: a share or follow prompt, a newsletter or
    subscription box, a "click here", a comments header, an advertisement
    marker, a photo credit, an inline "Also on"/"Read more" link. Only short
    lines qualify: a sentence that merely mentions a newsletter is prose."""
    if len(text) > _FURNITURE_MAX_CHARS:
        return False
    if not _FURNITURE_START.match(text[:64].lower()):
        # The patterns that may match mid-line allow 40 words at most: longer
        # paragraphs (most of a body) need no search at all.
        if text.count(" ") >= 40 or not _FURNITURE_ANYWHERE.search(text.lower()):
            return False
    words = len(text.split())
    return any(words <= limit and pattern.search(text) for pattern, limit in _FURNITURE)


# One share button per line; "Copy" and "More" buttons, and bare bullets, with them.
_NETWORK_ONLY = re.compile(rf"^[-*•\s]*(?:{_NETWORKS}|copy|more|share)?$", re.I)


def drop_furniture(paras: list[Para]) -> list[Para]:
    """Furniture lines and consent notices (a heading or a list item too: a
    share bar is often a heading over a list of networks), and "Don't
    miss"/"Related" boxes in the middle of the text: the label and the
    headlines under it."""
    kept: list[Para] = []
    skipping = 0
    in_share_bar = False
    for para in paras:
        if skipping and para.kind == "p" and is_headline(para.text.rstrip("|").strip()):
            skipping -= 1
            continue
        skipping = 0
        # A label may sit in a table cell: "| Weitere Artikel zum Thema |".
        label = para.text.strip("| ")
        if para.kind in ("p", "heading") and len(label) <= _LABEL_MAX_CHARS and _RELATED_LABEL.match(label):
            skipping = _RELATED_BOX_LINES
            continue
        text = _unbulleted(para)
        # One network per line, under a share label or another furniture line.
        if in_share_bar and _NETWORK_ONLY.match(text):
            continue
        if para.kind != "end" and (is_furniture(text) or is_consent_notice(text)):
            in_share_bar = True
            continue
        in_share_bar = False
        kept.append(para)
    return kept if kept else paras


# --- copyright notices at the end ---------------------------------------------

_COPYRIGHT = re.compile(
    r"^(?:copyright|©|\(c\))\s*(?:©|\(c\))?\s*(?:[\w.&,' -]{1,60}\s)?\d{4}|all rights reserved\.?$", re.I
)


def drop_trailing_copyright(paras: list[Para]) -> list[Para]:
    """ "Copyright 2019 Example News. All rights reserved." closing the text."""
    while len(paras) > 1 and _COPYRIGHT.search(paras[-1].text) and len(paras[-1].text.split()) <= 25:
        paras = paras[:-1]
    return paras


# --- blocks of other headlines at the end -------------------------------------

_RELATED_BOX_LINES = 8
_LABEL_MAX_CHARS = 60  # "Related", "More from The Daily Ledger": labels are short
_BULLET = re.compile(r"^(?:[-*+•·▪]|\d{1,3}[.)])\s+")
_RELATED_LABEL = re.compile(
    r"^(?:more|don[’']?t miss|related(?: (?:articles?|stories|news|posts|coverage|content|links|reading))?|read (?:more|also|next)"
    r"|see also|also read|more (?:from|on|stories|news|in|like this)\b.*|recommended(?: for you| stories)?"
    r"|you (?:may|might) also like|most (?:read|popular|viewed)|latest(?: news| stories)?|trending(?: now)?"
    r"|top stories|further reading|what to read next|latest articles"
    # The same in the languages newsdesk meets most.
    r"|weitere (?:[\w-]+ )?(?:artikel|themen|beiträge|nachrichten|meldungen)\b.*|mehr (?:themen|zum thema)\b.*"
    r"|top-?themen\b.*|zum weiterlesen|lesen sie auch\b.*|das könnte sie auch interessieren|meistgelesen"
    r"|meist-?(?:gelesen|diskutiert|kommentiert)|kommentierte artikel|vorschau auf den nächsten artikel"
    r"|noticias relacionadas|artículos relacionados|más noticias|más leídas|te puede interesar|le puede interesar"
    r"|articles similaires|sur le même sujet|(?:à |a )?lire aussi|articoli correlati|leggi anche|leia também"
    r"|veja também|czytaj (?:też|także)|zobacz (?:też|także))\s*:?$",
    re.I,
)
_TERMINAL = (".", ",", ";", ":", "…", "!")
_MONTH_ABBREVIATION = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def is_headline(text: str) -> bool:
    """A line that reads like a headline: short, no closing punctuation, most
    longer words capitalised."""
    if len(text) > 160 or not _is_short_unpunctuated(text):
        return False
    long_words = [w for w in _WORD.findall(text) if len(w) >= 4]
    if not long_words:
        return False
    capitalised = sum(1 for w in long_words if w[0].isupper())
    return capitalised / len(long_words) >= 0.6


# Lines of a list that belongs to the article (tour dates, results, addresses)
# look short and unpunctuated too, but they lead with a number or a date, or
# pack several comma- or bar-separated fields (table rows).
_LIST_ENTRY = re.compile(rf"^(?:\d|{_MONTH_ABBREVIATION}\.?\s+\d)|,.*,|\s--?\s|\|.*\|", re.I)


def _is_short_unpunctuated(text: str) -> bool:
    stripped = text.rstrip("\"'”’)] ")
    return 3 <= len(text.split()) <= 22 and not stripped.endswith(_TERMINAL) and not _LIST_ENTRY.search(text)


def drop_trailing_headlines(paras: list[Para]) -> list[Para]:
    """A run of other stories' headlines copied from the page after the body.

    Three or more title-case lines, or five or more short unpunctuated lines,
    at the very end; or any number after a "Related"/"Read more" label. A real
    article stays: at least one paragraph before the run must be prose.
    """
    end = len(paras)
    start = end
    while start > 0 and _in_headline_run(paras[start - 1]):
        start -= 1
    run = paras[start:end]
    if not run:
        return _drop_related_label(paras)
    headline_count = sum(1 for p in run if is_headline(_unbulleted(p)))
    has_label = start > 0 and _RELATED_LABEL.match(paras[start - 1].text)
    before = paras[: start - 1] if has_label else paras[:start]
    if not any(p.kind == "p" and not _is_short_unpunctuated(p.text) for p in before):
        return paras
    # Other stories' headlines are an appendix: never most of the text.
    if sum(len(p.text) for p in run) >= sum(len(p.text) for p in before):
        return paras
    if has_label or (headline_count >= 3 and headline_count * 10 >= len(run) * 7) or len(run) >= 5:
        return before
    return _drop_related_label(paras)


def _unbulleted(para: Para) -> str:
    return _BULLET.sub("", para.text) if para.kind == "list" else para.text


def _in_headline_run(para: Para) -> bool:
    """Plain lines, or bullets that read like headlines ("- NASA Picks Moon Landers")."""
    if para.kind == "p":
        return _is_short_unpunctuated(para.text)
    # A bullet of a list that is part of the article ("England (Group A): 10th")
    # is shorter or labelled; a linked headline reads as a full title.
    text = _unbulleted(para)
    return para.kind == "list" and len(text.split()) >= 5 and ":" not in text and is_headline(text)


def _drop_related_label(paras: list[Para]) -> list[Para]:
    """A closing "Related" label, alone or with a short list after it."""
    if len(paras) > 1:
        label, _, rest = paras[-1].text.partition(":")
        if _RELATED_LABEL.match(paras[-1].text) or (rest and _RELATED_LABEL.match(label) and len(rest.split()) <= 15):
            return paras[:-1]
    return paras


# --- prompts stuck to the end of a sentence --------------------------------------

_PROMPT_SUFFIX = re.compile(r"\s*(?:click to tweet|tweet this!?|tweet)\s*$", re.I)
_PROMPT_HINT = re.compile(r"(?:tweet|Tweet|TWEET)!?\s*$")


def strip_prompts(paras: list[Para]) -> list[Para]:
    """ "... in the 'space-time continuum.'Click To Tweet": a click-to-tweet box
    repeats a sentence and adds a button; the button goes, the sentence stays.
    Only after a sentence end, so "... said in a tweet" stays."""
    for para in paras:
        if _PROMPT_HINT.search(para.text) and (match := _PROMPT_SUFFIX.search(para.text)):
            before = para.text[: match.start()]
            if before.rstrip("'\"”’)").endswith((".", "!", "?")) or "click" in match.group(0).lower():
                para.text = before.rstrip()
    return [p for p in paras if p.text or p.kind == "end"]


# --- paragraphs broken in the middle of a sentence -------------------------------


def join_broken_sentences(paras: list[Para]) -> list[Para]:
    """Two paragraphs that are one sentence cut in two ("... before an English
    crowd" / "that's hissing ..."): pages that break a paragraph with a block
    element or a blank line mid-sentence. The first ends in a lower-case letter
    or a comma, the second starts with a lower-case letter; the second is
    prose, the first prose or a list item it continues."""
    if len(paras) < 2:
        return paras
    joined = [paras[0]]
    for para in paras[1:]:
        last = joined[-1]
        if (
            para.kind == "p"
            and last.kind in ("p", "list")
            and para.text[:1].islower()
            and (last.text[-1:] == "," or last.text[-1:].islower())
        ):
            joined[-1] = Para(f"{last.text} {para.text}", last.kind)
            continue
        joined.append(para)
    return joined


# --- cookie and consent notices -----------------------------------------------------

# The site speaking about its own cookies, in the languages newsdesk meets most.
_CONSENT = re.compile(
    r"\b(?:we use cookies|we and our partners use cookies|(?:site|website|page) uses cookies|how we use cookies"
    r"|(?:accept|allow) (?:all |the |our |youtube |third-party )?cookies|use of cookies|cookie (?:policy|settings|preferences|consent)"
    r"|wir (?:verwenden|nutzen|setzen) cookies|(?:seite|website|webseite) (?:verwendet|nutzt) cookies|verwendung von cookies"
    r"|nous utilisons des cookies|utilise des cookies|utilizamos cookies|usamos cookies|utilizziamo (?:i )?cookie"
    r"|używamy (?:plików )?cookies)",
    re.I,
)
_CONSENT_ACTION = re.compile(
    r"\b(?:accept(?:ing)?|agree|consent|allow|reject|decline|manage|settings|preferences|ok|continuing to use"
    r"|akzeptieren|zustimmen|stimmst|stimmen sie|einverstanden|einwilligung|einstellungen|ablehnen|zulassen|konfigurieren"
    r"|accepter|acceptez|refuser|paramètres|consentement|aceptar|aceptas|rechazar|configuración|consentimiento"
    r"|accetta|accetto|rifiuta|consenso|akceptuj|zgod[ayę])\b",
    re.I,
)
_CONSENT_MAX_WORDS = 120
# The buttons and headings of a consent box: "Accept all", "Einstellungen".
_BUTTON_WORDS = 4


def is_consent_notice(text: str) -> bool:
    """A cookie or consent notice: the site saying it uses cookies and asking
    the reader to accept, refuse or set them. An article about cookies does
    not ask."""
    if len(text) > 1200 or "ookie" not in text:
        return False
    return (
        len(text.split()) <= _CONSENT_MAX_WORDS and bool(_CONSENT.search(text)) and bool(_CONSENT_ACTION.search(text))
    )


def is_consent_wall(paras: list[Para]) -> bool:
    """Text that is a consent notice and its buttons, and nothing else."""
    notices = 0
    for para in paras:
        if is_consent_notice(para.text):
            notices += 1
        elif para.kind == "end" or len(para.text.split()) > _BUTTON_WORDS:
            return False
    return notices > 0
