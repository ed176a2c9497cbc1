"""Communicators: how d4p's ranks exchange their small statistics.

``Communicator`` declares the surface the algorithms use; ``SerialCommunicator``
(one rank), ``ThreadCommunicator`` (simulated ranks on threads) and
``MPICommunicator`` (mpi4py, imported only when used) implement it;
:mod:`d4p.comm.leaving` tells the other MPI ranks when one leaves the program.
"""
from .base import Communicator, pairwise_fold
from .mpi import MPICommunicator
from .serial import SerialCommunicator
from .threads import ThreadCommunicator, ThreadGroup

__all__ = ["Communicator", "SerialCommunicator", "ThreadCommunicator", "ThreadGroup",
           "MPICommunicator", "pairwise_fold"]
