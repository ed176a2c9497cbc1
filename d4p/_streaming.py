"""The compute/finalize flow of algorithms built on one mergeable statistic,
and their streaming mode.

``compute(chunk)`` validates the chunk and folds its partial statistics into the
running partial on this rank, without any communication (ranks may stream
different numbers of chunks).  A bad chunk raises at once and leaves the running
partial as it was.  ``finalize()`` is collective when ``distributed=True``: the
ranks agree on the column count, merge their partials and finalize.

An algorithm using the mixin provides ``_name``, ``_local_partial(data) ->
(partial, p)``, ``_empty(p)``, ``_merge(a, b)`` and ``_finalize(total)``;
``_compute_merged(data)`` is then its whole non-streaming ``compute``.  An
algorithm that agrees on more than the column count overrides ``_stream_info``
and ``_reduce`` together.
"""
from ._algorithm import Agreement, communicator, same_columns


class StreamingMixin:
    def _compute_merged(self, data):
        """validate and reduce locally → agree → merge up the tree → finalize."""
        comm = communicator(self.distributed)
        where = f"{self._name}.compute"
        with Agreement(comm, where) as step:
            partial, step.info = self._local_partial(data)
        return self._reduce(comm, where, step, partial)

    def _reduce(self, comm, where, step, partial):
        """Merge every rank's partial once they agreed; ranks whose table had no
        shape (an empty list) contribute the identity."""
        p = same_columns(step.infos, where, comm.size)
        partial = partial if step.info == p else self._empty(p)
        return self._finalize(comm.tree_reduce(partial, self._merge))

    def _reset_stream(self):
        self._partial = None
        self._stream_p = None

    def _stream_chunk(self, data):
        partial, p = self._local_partial(data)
        if p is None:
            return None
        if self._stream_p is not None and p != self._stream_p:
            raise ValueError(f"{self._name}: this chunk has {p} columns but earlier chunks "
                             f"had {self._stream_p}")
        self._partial = partial if self._partial is None else self._merge(self._partial, partial)
        self._stream_p = p
        return None

    def finalize(self):
        """Merge the chunks given to ``compute`` (on every rank when distributed)
        and return the result.  Further chunks may follow; the next ``finalize``
        includes them too."""
        if not self.streaming:
            raise ValueError(f"{self._name}: finalize() needs streaming=True")
        comm = communicator(self.distributed)
        where = f"{self._name}.finalize"
        with Agreement(comm, where) as step:
            step.info = self._stream_info()
        return self._reduce(comm, where, step, self._partial)

    def _stream_info(self):
        """What this rank contributes to finalize's agreement (its column count,
        or None before any chunk); ``_reduce`` reads it back as ``step.info``."""
        return self._stream_p
