"""Named random-graph families, for the classic results on standard graphs (``network.random_graph``).

Each family draws one undirected layer, named ``random_graph``, over every agent of the population,
in place of the generated layers. The graphs come from networkx's generators, seeded from the run's
master seed through :func:`diffusion_sim.rng.generator` (never the global random state):

* ``erdos_renyi``: G(n, p) with p = mean_degree / (n - 1) (Erdos and Renyi 1959; networkx's
  ``fast_gnp_random_graph``, Batagelj and Brandes 2005);
* ``configuration``: the configuration model of a degree sequence, one degree per agent (Molloy and
  Reed 1995); its self-loops and repeated pairs are dropped, so degrees may fall slightly short;
* ``watts_strogatz``: a ring of ``degree`` nearest neighbours rewired with probability ``rewire``
  (Watts and Strogatz 1998), in agent order, so each village is a stretch of the ring;
* ``stochastic_block``: blocks are the villages; a pair is tied with probability ``within`` inside a
  village and ``between`` across villages (Holland, Laskey and Leinhardt 1983).
"""

from __future__ import annotations

import numpy as np

from diffusion_sim.errors import UserError
from diffusion_sim.network.graph import EdgeList
from diffusion_sim.population import Population
from diffusion_sim.rng import generator

__all__ = ["LAYER", "random_graph_layer"]

LAYER = "random_graph"
"""Name of the layer a random-graph family draws."""


def random_graph_layer(spec, pop: Population, seed: int) -> EdgeList:
    """The ties of a ``network.random_graph`` section over a population (undirected, unit weight)."""
    import networkx as nx

    n = pop.n
    rs = int(generator(seed, f"network.{LAYER}").integers(0, 2**31 - 1))
    if spec.family == "erdos_renyi":
        g = nx.fast_gnp_random_graph(n, min(1.0, spec.mean_degree / max(n - 1, 1)), seed=rs)
    elif spec.family == "configuration":
        degrees = list(spec.degrees or [])
        if len(degrees) != n:
            raise UserError(
                f"lists {len(degrees):,} degrees, but the community has {n:,} agents; expected one degree per agent",
                field="network.random_graph.degrees",
            )
        if sum(degrees) % 2:
            raise UserError(
                f"the degrees add up to {sum(degrees):,}, an odd number; every tie has two ends: expected an even sum",
                field="network.random_graph.degrees",
            )
        g = nx.Graph(nx.configuration_model(degrees, seed=rs))
    elif spec.family == "watts_strogatz":
        if spec.degree >= n:
            raise UserError(
                f"is {spec.degree}, but the community has only {n:,} agents; expected fewer",
                field="network.random_graph.degree",
            )
        g = nx.watts_strogatz_graph(n, spec.degree, spec.rewire, seed=rs)
    else:  # stochastic_block: blocks are villages
        order = np.argsort(pop.village, kind="stable")
        sizes = np.bincount(pop.village, minlength=pop.n_villages).tolist()
        V = len(sizes)
        probs = [[spec.within if a == b else spec.between for b in range(V)] for a in range(V)]
        g = nx.stochastic_block_model(sizes, probs, seed=rs, sparse=True)
        g = nx.relabel_nodes(g, {k: int(order[k]) for k in range(n)})
    edges = np.array([(a, b) for a, b in g.edges() if a != b], dtype=np.int64).reshape(-1, 2)
    return EdgeList.unit(edges[:, 0], edges[:, 1])
