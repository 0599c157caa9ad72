"""The value types that hooks take and return, in one leaf module.

Every class here is a plain dataclass. This module imports nothing of ``comun_cms`` at run time
(only for type checking), so :mod:`comun_cms.hookspecs`, the core and the plugins can all import
it without creating an import cycle. Plugins get these names from :mod:`comun_cms.toolkit`.

What each hook uses:

* ``register_content_types`` returns :class:`ContentType`;
* ``admin_menu_items`` / ``public_menu_items`` return :class:`MenuItem`;
* ``portal_widgets`` / ``dashboard_widgets`` return :class:`PortalWidget`;
* ``tenant_settings`` returns ``{key: SettingSpec}``;
* ``on_publish`` receives a :class:`PublishEvent`;
* ``publication_log`` returns :class:`LogSlice` (entries: :class:`LoggedPublication`);
* ``open_datasets`` returns :class:`Dataset` (columns: :class:`DatasetField`);
* ``demo_data`` / ``training_scenario`` receive a :class:`DemoContext`;
* ``training_tasks`` returns :class:`TrainingTask`, whose ``check`` receives a
  :class:`Participant` and returns :class:`CheckItem` lines;
* ``search_documents`` yields :class:`comun_cms.search.backend.SearchDocument` (defined with the
  search interface, itself a leaf module).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable

if TYPE_CHECKING:  # pragma: no cover - typing only
    from comun_cms.models import Publication, User
    from comun_cms.tenancy import Tenant

__all__ = [
    "CheckItem", "ContentType", "Dataset", "DatasetField", "DemoContext", "LoggedPublication", "LogSlice", "MenuItem",
    "Participant", "PortalWidget", "PublishEvent", "SettingSpec", "TrainingTask",
]


# --------------------------------------------------------------------------- navigation, widgets
@dataclass(frozen=True)
class MenuItem:
    """A navigation entry returned by ``admin_menu_items`` / ``public_menu_items``.

    ``endpoint`` is a Flask endpoint (the ``tenant`` URL argument is filled in automatically);
    ``roles`` limits admin entries to those tenant roles (empty = any staff role); ``order``
    sorts ascending.
    """

    label: Any
    endpoint: str
    order: int = 100
    roles: tuple[str, ...] = ()
    url_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PortalWidget:
    """A block on the portal home or a tenant dashboard: ``title`` and ``render() -> Markup``.

    ``render`` must return :class:`markupsafe.Markup`: wrap a template's output,
    ``Markup(render_template(...))`` (``render_template`` returns a plain ``str``). The core
    escapes anything else and logs a warning, so a plain ``str`` shows as text, never as HTML.
    On a tenant dashboard, ``permissions`` names who sees the widget: a user with any of them
    (default ``content.view_unpublished``: dashboard widgets show work in progress, which
    evaluators do not see). Portal widgets ignore it (the portal is public).
    """

    title: Any
    render: Callable[[], Any]
    order: int = 100
    permissions: tuple[str, ...] = ("content.view_unpublished",)


@dataclass(frozen=True)
class Worker:
    """A background process ``comun run`` starts beside the web server (``register_workers``).

    ``name`` names it in the supervisor's messages; ``argv`` is the whole command line (e.g.
    ``[sys.executable, "-m", "comun_cms.cli", "notary", "worker"]``), run with the environment of
    ``comun run`` (``COMUN_INSTANCE_PATH`` set); ``restart`` starts it again when it exits on its
    own (at most once every few seconds, :data:`comun_cms.supervisor.RESTART_DELAY`).
    """

    name: str
    argv: tuple[str, ...]
    restart: bool = True


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class SettingSpec:
    """One tenant setting a plugin declares (``tenant_settings`` hook).

    ``type`` is ``int``, ``float``, ``str``, ``bool`` or ``list``; ``choices`` restricts values;
    ``min``/``max`` bound numbers; ``choice_labels`` (``{choice: lazy label}``) names the
    choices where the admin shows them (Settings page), instead of the codes.
    :meth:`resolve` validates a value from tenant.toml.
    """

    type: type
    default: Any
    description: str = ""
    choices: tuple[Any, ...] = ()
    min: float | None = None
    max: float | None = None
    choice_labels: dict[Any, Any] = field(default_factory=dict, hash=False, compare=False)

    def resolve(self, value: Any, present: bool = True) -> Any:
        """Return ``value`` validated, or raise ``ValueError`` with a message naming the problem."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if self.type is int and isinstance(value, bool) or not isinstance(value, self.type):
            raise ValueError(f"must be of type {self.type.__name__}, got {value!r}")
        if self.choices:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if item not in self.choices:
                    raise ValueError(f"{item!r} is not one of {', '.join(map(str, self.choices))}")
        if self.min is not None and value < self.min:
            raise ValueError(f"must be at least {self.min}")
        if self.max is not None and value > self.max:
            raise ValueError(f"must be at most {self.max}")
        return value


# --------------------------------------------------------------------------- content and publishing
@dataclass(frozen=True)
class ContentType:
    """Description of one publishable record kind.

    Attributes:
        name: identifier used in URLs, publications and search (``"page"``, ``"commitment"``).
        plugin: name of the plugin that owns it (``"core"`` for pages).
        model: the SQLAlchemy model (must use ``TenantScoped`` and ``Publishable``).
        label / label_plural: human names (lazy gettext strings).
        serialize: ``record -> dict`` of JSON-safe content that is frozen at publication. It must
            cover every public field (attachments are added by the core from ``attachments``).
        title: ``record -> str``.
        url: ``record -> str``: the public URL (called inside a request or app context).
        search_document: ``record -> dict | None`` with at least ``body`` (plain text) and
            optionally ``title``, ``status``, ``date`` (aware datetime), ``keywords``; ``None``
            keeps the record out of the index.
        attachments: ``record -> list[Attachment]`` whose SHA-256 are part of the published content.
        admin_url: ``record -> str | None`` edit page in admin.
        status_labels: ``{code: label}`` (lazy gettext strings) for every ``status`` code the
            search documents use beyond the core's ``published``, ``corrected`` and
            ``retracted``; the search facets show these labels, never the codes.
        field_labels: ``{key: label}`` (lazy gettext strings) for the keys of ``serialize``'s
            dict; the public history names changed fields with them (a nested key such as
            ``milestones.2.weight`` is named part by part).
    """

    name: str
    plugin: str
    model: type
    label: Any
    label_plural: Any
    serialize: Callable[[Any], dict]
    title: Callable[[Any], str]
    url: Callable[[Any], str]
    search_document: Callable[[Any], dict | None] = lambda record: None
    attachments: Callable[[Any], list] = lambda record: []
    admin_url: Callable[[Any], str | None] = lambda record: None
    status_labels: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    field_labels: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class PublishEvent:
    """What ``on_publish`` listeners receive.

    ``publication`` (flushed :class:`~comun_cms.models.Publication`, has an id), ``record`` (the
    model instance), ``content_type`` (:class:`ContentType`), ``tenant``
    (:class:`~comun_cms.tenancy.Tenant`), ``action`` (publish | correct | retract | redact) and
    ``previous`` (the previous Publication or ``None``).
    """

    publication: "Publication"
    record: Any
    content_type: ContentType
    tenant: Any
    action: str
    previous: "Publication | None"


@dataclass(frozen=True)
class LoggedPublication:
    """One entry of a tenant's publication log, as ``publication_log`` returns it.

    ``index`` (zero-based position in the log: gap-free and assigned in commit order),
    ``publication_id`` (the :class:`~comun_cms.models.Publication` it logs) and ``entry_hash``
    (hex SHA-256 hash of the log entry, e.g. the notary's RFC 6962 leaf hash).
    """

    index: int
    publication_id: int
    entry_hash: str


@dataclass(frozen=True)
class LogSlice:
    """A run of consecutive entries of a tenant's publication log (``publication_log``).

    ``entries`` (:class:`LoggedPublication`, in index order, consecutive from the requested
    start) and ``size`` (number of entries the log held when it was read; at least
    ``entries[-1].index + 1``).
    """

    entries: tuple[LoggedPublication, ...]
    size: int


# --------------------------------------------------------------------------- open data
@dataclass(frozen=True)
class DatasetField:
    """A column: ``name``, ``type`` (string, integer, number, boolean, date, datetime) and
    ``description`` (meaning, lazy string)."""

    name: str
    type: str
    description: Any


@dataclass(frozen=True)
class Dataset:
    """A downloadable dataset.

    ``name`` (URL slug), ``title``, ``description``, ``fields`` (:class:`DatasetField` list),
    ``rows`` (``() -> Iterable[dict]`` yielding published records of the current tenant),
    ``licence`` (default CC BY 4.0), ``plugin``.
    """

    name: str
    title: Any
    description: Any
    fields: tuple[DatasetField, ...]
    rows: Callable[[], Iterable[dict]]
    licence: str = "CC-BY-4.0"
    plugin: str = "core"

    @property
    def field_names(self) -> list[str]:
        """The column names, in order."""
        return [f.name for f in self.fields]


# --------------------------------------------------------------------------- demo data
def _publishing_not_loaded(record: Any, *, user: Any = None, commit: bool = True) -> Any:
    raise RuntimeError("DemoContext.publish needs comun_cms.publishing, which is loaded with the application "
                       "(create_app); it is not imported yet")


@dataclass
class DemoContext:
    """What ``demo_data`` and ``training_scenario`` hook implementations receive.

    ``tenant``: the tenant being loaded; ``user``: the tenant's demo editor (publish as this
    user; ``None`` for training scenarios); ``log(message)``: progress output; ``created``:
    descriptions of what was created, for the caller's summary.
    """

    tenant: "Tenant"
    user: "User | None"
    log: Callable[[str], None] = print
    created: list[str] = field(default_factory=list)

    #: The publishing function :meth:`publish` calls, ``(record, *, user, commit) -> Publication``:
    #: :func:`comun_cms.publishing.publish`, which installs itself here when it is imported. This
    #: leaf module cannot import it (publishing needs the models and the hooks, which import this
    #: module); every application imports publishing, so it is always installed once an app exists.
    publisher: ClassVar[Callable[..., Any]] = _publishing_not_loaded

    def publish(self, record: Any, commit: bool = True) -> "Publication":
        """Publish ``record`` (a draft) in the current tenant as :attr:`user`.

        Returns the new :class:`~comun_cms.models.Publication`; raises
        :class:`comun_cms.publishing.PublishError` when the record cannot be published, and
        ``RuntimeError`` when :mod:`comun_cms.publishing` was never imported (no application).
        """
        return DemoContext.publisher(record, user=self.user, commit=commit)


# --------------------------------------------------------------------------- training
@dataclass(frozen=True)
class Participant:
    """One workshop participant as the exercises see them.

    ``workspace``: the participant's own workspace (a training tenant derived from the training
    tenant, e.g. ``capacitacion-07``); ``editor``: the SESEA-side account (role ``editor`` in the
    workspace); ``evaluator``: the evaluating-organization account (role ``evaluator``). Either
    account may be ``None`` (a workspace checked before its accounts exist). Nobody else can
    write in the workspace, so "the participant's work" is what these accounts published there.
    """

    workspace: "Tenant"
    editor: "User | None" = None
    evaluator: "User | None" = None

    @property
    def user_ids(self) -> tuple[int, ...]:
        """Ids of the participant's accounts (for ``Publication.published_by_id`` checks)."""
        return tuple(u.id for u in (self.editor, self.evaluator) if u is not None)


@dataclass(frozen=True)
class CheckItem:
    """One line of "check my work": ``label``, ``done`` and a ``hint`` when not done."""

    label: str
    done: bool
    hint: str = ""


@dataclass(frozen=True)
class TrainingTask:
    """A task of one training exercise, contributed by a plugin (``training_tasks`` hook) or by
    the core (the "write and publish a page" task of the steps no plugin covers).

    ``step``: the local-strategy step (1–13) the task belongs to; ``key``: unique id
    (``"<plugin>.<name>"``); ``title``, ``goals``, ``steps``: Spanish text shown to the participant;
    ``check(participant) -> list[CheckItem]``: what is done ("check my work"; reads only, runs in
    the workspace's tenant context); ``solve(participant) -> None``: the model answer, done as the
    participant's accounts so that ``check`` then reports every item done (adds and publishes with
    ``commit=False``; the caller commits); ``start_endpoint``: the admin endpoint where the
    participant starts (a link on the exercise page), or ``None``.
    """

    step: int
    key: str
    title: str
    goals: tuple[str, ...]
    steps: tuple[str, ...]
    check: Callable[[Participant], list[CheckItem]]
    solve: Callable[[Participant], None]
    start_endpoint: str | None = None
