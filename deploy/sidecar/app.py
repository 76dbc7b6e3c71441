"""An application beside its plane: it reaches the plane over a Unix socket only.

Run by ``run.sh``; any language works the same way with a client generated from
``protos/partita/v1``. It creates a campaign, starts an activation, waits for it to end and
prints its outputs as JSON.
"""

from __future__ import annotations

import json
import os
import sys

import grpc
from google.protobuf import json_format

from partita.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    campaign_pb2,
    campaign_pb2_grpc,
    common_pb2,
)

CAMPAIGN = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: sidecar-hello}
spec:
  firstStage: greet
  stages:
    greet: {provider: mock, inputs: {greeting: "${{ 'hello ' + inputs.name }}"}}
"""


def main() -> int:
    target = os.environ["PARTITA_SERVER"]  # unix:/path/to/plane.sock
    with grpc.insecure_channel(target) as channel:
        campaigns = campaign_pb2_grpc.CampaignServiceStub(channel)
        campaigns.CreateCampaign(campaign_pb2.CreateCampaignRequest(document=CAMPAIGN))
        activations = activation_pb2_grpc.ActivationServiceStub(channel)
        request = activation_pb2.StartActivationRequest(campaign="sidecar-hello")
        request.inputs.update({"name": "sidecar"})
        started = activations.StartActivation(request).activation
        watch = activation_pb2.WatchActivationRequest(activation_id=started.id)
        last = None
        for item in activations.WatchActivation(watch, timeout=60):
            last = item.activation
        if last is None or last.status != common_pb2.ACTIVATION_STATUS_COMPLETED:
            print(f"activation {started.id} did not complete", file=sys.stderr)
            return 1
        print(json.dumps(json_format.MessageToDict(last.outputs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
