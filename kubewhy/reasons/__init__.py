"""What Kubernetes itself says: its reasons, conditions, taints and message fragments, mapped to findings.

The API server, the scheduler, the kubelet and the controllers write the cause of most failures into a field:
a pod's ``status.reason`` (``OutOfcpu``), a container's waiting reason (``ErrImagePull``), an event
(``FailedScheduling: 0/3 nodes are available: 3 Insufficient memory``), a condition
(``Progressing=False ProgressDeadlineExceeded``) or a taint (``node.kubernetes.io/disk-pressure``). The playbooks
prove causes with checks; this package is the net under them: ``vocabulary.yaml`` lists those words as data,
extracted from Kubernetes' source at a pinned commit (each entry says where it is emitted), and
:mod:`.match` finds them in an object and its events, so a state Kubernetes named is never "unexplained".

``python -m kubewhy.reasons check`` validates the data; ``python -m kubewhy.reasons docs`` prints docs/reasons.md.
"""
