"""The workshop page: a live view of diffusion for trainers, served by :mod:`diffusion_sim.workshop.server`.

Built with Solara directly rather than Mesa's SolaraViz, because the page needs what SolaraViz does
not do: two models stepped together on one seed and drawn side by side, interventions switched
during a run, clicks on agents (to inspect one, or to pick seeds in the game), and a network of
thousands of agents redrawn within 100 ms. The network and the curves are drawn in the browser
(``network.vue``, ``curves.vue``): positions, shapes and ties are sent once, and each step sends one
character per agent. Play's clock is in the browser too (``ticker.vue``): the next step is asked for
only after the last one has been drawn.

All the page's numbers come from a :class:`~diffusion_sim.workshop.session.WorkshopSession` built
per browser session (``solara.use_memo``), so two trainers on one laptop do not disturb each other.

Test hooks (tests/test_workshop_page.py): the step count is in the element of class
``workshop-step`` (``step N``), households' coverage in ``workshop-coverage``, the replay check in
``workshop-replay``, the game's board in ``workshop-board``.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np
import solara

from diffusion_sim.community import Community
from diffusion_sim.population import HOUSEHOLD
from diffusion_sim.runner import run
from diffusion_sim.scenario.yaml_source import to_yaml
from diffusion_sim.workshop import style
from diffusion_sim.workshop.game import SeedingGame
from diffusion_sim.workshop.layout import network_layout, tie_pairs
from diffusion_sim.workshop.server import page_settings
from diffusion_sim.workshop.session import CURVES, SWITCHES, WorkshopSession

CURVE_COLOURS = ("#0072B2", "#009E73", "#CC79A7", "#D55E00")
"""Colours of the curves of :data:`~diffusion_sim.workshop.session.CURVES` (Okabe-Ito)."""


@solara.component_vue("network.vue")
def NetworkCanvas(
    xy: str,
    edges: str,
    kinds: str,
    kind_shape: list,
    kind_stroke: list,
    kind_size: list,
    ringed: str,
    ring_colour: str,
    fills: list,
    states: str,
    selected: int = -1,
    highlight: list = [],  # noqa: B006 - Vue properties; never mutated
    picks: list = [],  # noqa: B006
    title: str = "",
    width: int = 640,
    height: int = 520,
    aspect: float = 1.0,
    event_agent_click: Callable[[int], None] | None = None,
):
    """The network: agents by kind (shape, outline) and adoption state (fill); a click names an agent."""


@solara.component_vue("curves.vue")
def Curves(
    series: list,
    xmax: int,
    title: str = "",
    xlabel: str = "step",
    ymin: float | None = 0.0,
    ymax: float | None = 1.0,
    percent: bool = True,
    money: bool = False,
    width: int = 420,
    height: int = 200,
):
    """Lines of values by step; ``series`` items are ``{label, color, values, dash}``."""


@solara.component_vue("ticker.vue")
def Ticker(playing: bool, version: int, delay: int, event_tick: Callable[[int], None] | None = None):
    """Play's clock: asks for a step ``delay`` ms after the last one was drawn."""


def _text(values: np.ndarray) -> str:
    """Numbers as comma-separated text (``network.vue`` splits them once)."""
    return ",".join(f"{v:g}" for v in values.tolist())


def _states(codes: np.ndarray) -> str:
    """One character per agent: its state code as a digit."""
    return (codes.astype(np.uint8) + 48).tobytes().decode("ascii")


@solara.component
def Legend(kinds: frozenset[int] = frozenset(), marginalised: bool = True):
    """What the shapes, outlines and colours mean (the kinds of agent present, and rings if any)."""
    symbol = style.SHAPE_SYMBOLS
    items = [f'<span style="color:{s.colour};font-size:16px">●</span> {s.label}' for s in style.STATES]
    items += [
        f'<span style="color:#888;font-size:16px">{symbol[k.shape]}</span> {k.label}'
        for k in style.KINDS
        if not kinds or k.code in kinds
    ]
    m = style.MARGINALISED
    if marginalised:
        items.append(f'<span style="color:#fff;-webkit-text-stroke:1.5px {m.colour};font-size:16px">●</span> {m.label}')
    items = [f'<span style="white-space:nowrap">{item}</span>' for item in items]
    solara.HTML(
        tag="div",
        unsafe_innerHTML=" &nbsp; ".join(items),
        style={"font-size": "13px", "line-height": "22px", "max-width": "1100px"},
    )


def _picture(community: Community, seed: int) -> dict:
    """What the network canvas needs once per community: positions, ties, kinds and their look."""
    xy = network_layout(community, seed)
    lo, span = xy.min(axis=0), np.maximum(np.ptp(xy, axis=0), 1e-9)
    aspect = float(np.clip(span[1] / span[0], 0.4, 1.5))  # the picture's height per unit of width
    pop = community.population
    # the arrays go as comma-separated text: reacton walks list props on every render (tens of ms at 5,000)
    return {
        "xy": _text(np.round((xy - lo) / span, 4).ravel()),  # fills the canvas, whose shape follows
        "aspect": aspect,
        "edges": _text(tie_pairs(community).ravel()),
        "kinds": _text(style.agent_kinds(pop)),
        "kind_shape": [k.shape for k in style.KINDS],
        "kind_stroke": [k.outline or "" for k in style.KINDS],
        "kind_size": [k.size for k in style.KINDS],
        "ringed": _text(np.flatnonzero((pop.role == HOUSEHOLD) & pop.marginalised)),
        "ring_colour": style.MARGINALISED.colour,
        "fills": [s.colour for s in style.STATES],
    }


@solara.component
def AgentCard(info: dict | None):
    """Who the clicked agent is, when and how it adopted, and who exposed it."""
    if info is None:
        solara.Markdown("*Click an agent to see who it is and how it adopted.*")
        return
    who = info["role"] + (f" ({info['leader_kind']})" if info["leader_kind"] else "")
    lines = [f"**Agent {info['agent']}**: {who}, village {info['village']}"]
    if info["household_size"] is not None:
        lines.append(f"{info['household_size']} people" + (", marginalised" if info["marginalised"] else ""))
    if info["adopted_step"] is not None:
        lines.append(
            f"adopted in step {info['adopted_step']} (day {info['adopted_day']:g}) through **{info['channel']}**"
            + ("" if info["adopted"] else "; has given up since")
        )
    else:
        lines.append("has not adopted")
    exposers = info["exposed_by"]
    shown = ", ".join(map(str, exposers[:12])) + (" ..." if len(exposers) > 12 else "")
    verb = "adopted before it" if info["adopted_step"] is not None else "have adopted now"
    listed = f": {shown}" if shown else ""
    lines.append(f"{info['contacts']} contacts; {len(exposers)} {verb} (ringed in orange){listed}")
    solara.Markdown("  \n".join(lines), style={"font-size": "14px"})


BESIDE_NONE, BESIDE_PLAIN = "nothing", "the same without my switches"


@solara.component
def Page():  # noqa: C901 - one page, its controls in order
    """One browser session's page."""
    settings = page_settings()
    first = settings.beside if settings.beside is not None else "without switches"  # --beside: drawn from the start
    session = solara.use_memo(lambda: WorkshopSession(settings.scenario, settings.seed, first), dependencies=[])
    pictures = solara.use_memo(dict, dependencies=[])  # community -> its picture, computed once each
    game = solara.use_memo(lambda: SeedingGame(settings.scenario, session.seed, session.community), dependencies=[])
    version, set_version = solara.use_state(0)
    playing, set_playing = solara.use_state(False)
    delay, set_delay = solara.use_state(150)
    selected, set_selected = solara.use_state(-1)
    tab, set_tab = solara.use_state(0)
    replay, set_replay = solara.use_state("")
    player, set_player = solara.use_state("")
    message, set_message = solara.use_state("")

    def picture(community: Community) -> dict:
        if community not in pictures:  # a Community hashes by identity; the key keeps it (and its id) alive
            pictures[community] = _picture(community, session.seed)
        return pictures[community]

    def changed():
        set_version(lambda v: v + 1)

    def step(_=None):
        session.step()
        if session.ended:  # Play stops at the end of the schedule
            set_playing(False)
        changed()

    def reset():
        set_playing(False)
        session.reset()
        set_selected(-1)
        set_replay("")
        changed()

    def choose_beside(label: str):
        second = settings.beside if settings.beside is not None and label == settings.beside.name else None
        session.beside_choice = second if second is not None else None if label == BESIDE_NONE else "without switches"
        reset()

    def switch(key: str, on: bool):
        try:
            session.switch(key, on)
            set_message("")
        except ValueError as err:
            set_message(str(err))
        changed()

    def check_replay():
        live = session.model.result(agents=False).counts
        again = run(session.played_scenario(), session.seed, steps=session.model.steps, agents=False).counts
        same = all(
            np.array_equal(getattr(live, name), getattr(again, name))
            for name in ("adopters", "new", "abandoned", "by_channel", "cost")
        )
        g = again.groups.index("role=household")
        share = again.adopters[-1, g, 0] / again.population[g]
        verdict = "the same at every step" if same else "DIFFERENT from the live run"
        set_replay(
            f"Replay of the recorded switches to step {session.model.steps}: {share:.1%} of households, {verdict}"
        )

    def click(i: int):
        if tab == 1:
            set_message(
                "" if game.pick(int(i)) else f"you can train {game.budget}: click a picked person to free a place"
            )
        else:
            set_selected(int(i) if i != selected else -1)
        changed()

    def play_game():
        try:
            game.play(player)
            set_message("")
        except ValueError as err:
            set_message(str(err))
        changed()

    t = session.model.steps
    last = settings.scenario.schedule.steps
    households = session.curves.share["households"][-1]
    beside_options = [BESIDE_PLAIN, *([settings.beside.name] if settings.beside is not None else []), BESIDE_NONE]
    beside_now = BESIDE_NONE if session.beside is None else session.beside_label
    beside_now = BESIDE_PLAIN if beside_now == "without switches" else beside_now
    solara.Title("diffusion-sim workshop")
    with solara.Column(style={"padding": "6px 14px", "gap": "4px"}):
        with solara.Row(style={"align-items": "center", "gap": "14px", "flex-wrap": "wrap"}):
            solara.Text(f"{settings.scenario.name}", style={"font-size": "1.3em", "font-weight": "600"})
            solara.Button("Pause" if playing else "Play", on_click=lambda: set_playing(not playing),
                          disabled=session.ended, color="primary")  # fmt: skip
            solara.Button("Step", on_click=step, disabled=session.ended or playing)
            solara.Button("Reset", on_click=reset)
            with solara.Column(style={"width": "190px"}):
                solara.SliderInt("pause (ms)", value=delay, on_value=set_delay, min=0, max=1000, step=50)
            Ticker(playing=playing and not session.ended, version=version, delay=delay, event_tick=step)
            solara.Text(f"step {t}", classes=["workshop-step"], style={"font-size": "1.15em", "font-weight": "600"})
            solara.Text(f"of {last} (day {t * session.days_per_step:g})")
            solara.Text(f"households adopted: {households:.1%}", classes=["workshop-coverage"])
            solara.Text(f"spent: {session.curves.cost[-1]:,.0f}", classes=["workshop-cost"])
        if message:
            solara.Warning(message, classes=["workshop-message"])
        with solara.lab.Tabs(value=tab, on_value=set_tab):
            with solara.lab.Tab("Diffusion"):
                with solara.Row(style={"gap": "14px", "align-items": "flex-start", "flex-wrap": "nowrap"}):
                    with solara.Column(style={"width": "270px", "min-width": "270px", "gap": "0px"}):
                        _switches(session, switch, changed)
                        solara.Select("drawn beside", values=beside_options, value=beside_now, on_value=choose_beside)
                        _replay(session, check_replay, replay)
                        AgentCard(session.agent_info(selected) if selected >= 0 else None)
                    with solara.Column(style={"gap": "2px"}):
                        _networks(session, picture, selected, click)
                        _curves(session)
            with solara.lab.Tab("Seeding game"):
                _game_tab(session, picture(session.community), game, click, player, set_player, play_game, changed)


def _switches(session: WorkshopSession, switch, changed) -> None:
    """The intervention switches and their sliders."""
    solara.Text("Interventions, from the next step:", style={"font-weight": "600"})
    for spec in SWITCHES:
        on = spec.key in session.on
        missing = session.cannot(spec.key)
        solara.Switch(label=spec.label, value=on, on_value=lambda v, k=spec.key: switch(k, v),
                      disabled=session.ended or bool(missing))  # fmt: skip
        if missing:
            solara.Text(missing, style={"font-size": "12px", "color": "#a00", "margin-left": "48px"})
        kwargs = {"min": spec.low, "max": spec.high, "step": spec.step, "disabled": on}
        value = session.settings[spec.key]
        setter = lambda v, k=spec.key: (session.set_setting(k, v), changed())  # noqa: E731
        shown = f"{value:g}" if spec.step >= 1 else f"{value:.0%}"
        solara.Text(
            f"{spec.slider_label}: {shown}", style={"font-size": "12px", "color": "#555", "margin-left": "48px"}
        )
        with solara.Column(style={"margin": "-14px 0 -8px 40px"}):
            if spec.step >= 1:
                solara.SliderInt("", value=int(value), on_value=setter, **kwargs)
            else:
                solara.SliderFloat("", value=float(value), on_value=setter, **kwargs)


def _replay(session: WorkshopSession, check_replay, replay: str) -> None:
    """What was switched when, the replay check and the played scenario's download."""
    switches = session.model.switches
    if switches:
        listed = "; ".join(f"{s.label} {s.action} from step {s.step}" for s in switches)
        solara.Markdown(f"**Switched:** {listed}", style={"font-size": "13px"})
    with solara.Row(style={"gap": "6px", "flex-wrap": "wrap"}):
        solara.Button("Check the replay", on_click=check_replay, small=True, classes=["workshop-replay-button"])
        solara.FileDownload(
            lambda: to_yaml(session.played_scenario()).encode(),
            filename="played-scenario.yaml",
            label="Save as scenario",
        )
    if replay:
        solara.Text(replay, classes=["workshop-replay"], style={"font-size": "13px"})


def _networks(session: WorkshopSession, picture, selected: int, click) -> None:
    """The network of the trainer's run (and of the run beside it), the legend and the clicked agent."""
    beside = session.beside is not None
    width = 460 if beside else 700
    info = session.agent_info(selected) if selected >= 0 else None
    mine = picture(session.community)
    height = int(width * mine["aspect"]) + 40
    with solara.Column(style={"gap": "2px"}):
        with solara.Row(style={"gap": "8px", "flex-wrap": "nowrap"}):
            NetworkCanvas(**mine, states=_states(session.states("main")), selected=selected,
                          highlight=info["exposed_by"] if info else [], title="with my switches" if beside else "",
                          width=width, height=height, event_agent_click=click)  # fmt: skip
            if beside:
                theirs = picture(session.beside_community)
                NetworkCanvas(**theirs, states=_states(session.states("beside")), title=session.beside_label,
                              width=width, height=int(width * theirs["aspect"]) + 40,
                              event_agent_click=lambda i: None)  # fmt: skip
        pop = session.community.population
        Legend(kinds=frozenset(np.unique(style.agent_kinds(pop)).tolist()),
               marginalised=bool((pop.marginalised & (pop.role == HOUSEHOLD)).any()))  # fmt: skip


def _curves(session: WorkshopSession) -> None:
    """Adoption by role and of marginalised households, the difference from the run beside, the cost."""
    xmax = session.scenario.schedule.steps
    shown = session.curve_labels
    series = [
        {"label": label, "color": colour, "values": session.curves.share[label], "dash": False}
        for (_, label), colour in zip(CURVES, CURVE_COLOURS, strict=True)
        if label in shown
    ]
    beside = session.beside is not None
    if beside:
        series += [
            {"label": f"{label}, {session.beside_label}", "color": colour,
             "values": session.beside_curves.share[label], "dash": True}
            for (_, label), colour in zip(CURVES[:1] + CURVES[3:], CURVE_COLOURS[:1] + CURVE_COLOURS[3:], strict=True)
            if label in shown
        ]  # fmt: skip
    with solara.Row(style={"gap": "8px", "flex-wrap": "wrap", "align-items": "flex-start"}):
        Curves(series=series, xmax=xmax, title="share adopted", width=400 if beside else 380)
        if beside:
            ours, theirs = session.curves.share["households"], session.beside_curves.share["households"]
            n = min(len(ours), len(theirs))
            diff = [100 * (a - b) for a, b in zip(ours[:n], theirs[:n], strict=True)]
            label = "households, mine minus beside (points)"
            Curves(series=[{"label": label, "color": "#000000", "values": diff, "dash": False}],
                   xmax=xmax, title="difference", ymin=None, ymax=None, percent=False, width=290)  # fmt: skip
        cost = [{"label": "spent on my switches", "color": "#E69F00", "values": session.curves.cost, "dash": False}]
        Curves(series=cost, xmax=xmax, title="running cost", ymin=0.0, ymax=None, percent=False, money=True,
               width=220 if beside else 300)  # fmt: skip


def _game_tab(session, picture, game, click, player, set_player, play_game, changed):
    def set_budget(v):
        game.budget = int(v)
        game.picks = game.picks[: game.budget]
        changed()

    with solara.Row(style={"gap": "16px", "align-items": "flex-start", "flex-wrap": "nowrap"}):
        with solara.Column(style={"width": "320px", "min-width": "320px"}):
            solara.Markdown(
                f"**Seeding game.** You can train **{game.budget}** people. Click them on the network "
                "(click again to change your mind), then run: everyone is scored on the same "
                f"{game.replicates} simulated futures, against the built-in strategies."
            )
            solara.SliderInt("people you can train", value=game.budget, on_value=set_budget, min=1, max=20)
            solara.InputText("your name", value=player, on_value=set_player)
            listed = f": {', '.join(map(str, game.picks))}" if game.picks else ""
            solara.Text(f"picked {len(game.picks)} of {game.budget}{listed}", classes=["workshop-picked"])
            solara.Button("Run and score", on_click=play_game, disabled=len(game.picks) != game.budget,
                          color="primary", classes=["workshop-play"])  # fmt: skip
            if game.board:
                rows = "".join(
                    f"<tr><td>{k + 1}</td><td>{'<i>' if s.builtin else '<b>'}{html.escape(s.player)}"
                    f"{'</i>' if s.builtin else '</b>'}</td><td style='text-align:right'>{s.coverage:.1%}</td></tr>"
                    for k, s in enumerate(game.board)
                )
                solara.HTML(
                    tag="table",
                    unsafe_innerHTML="<tr><th>#</th><th>who</th><th>households adopted</th></tr>" + rows,
                    classes=["workshop-board"],
                    style={"font-size": "14px", "border-spacing": "10px 2px"},
                )
        NetworkCanvas(**picture, states=_states(session.start_states), picks=list(game.picks),
                      title="click to pick whom to train", width=760, height=int(760 * picture["aspect"]) + 40,
                      event_agent_click=click)  # fmt: skip
