"""The pipeline's pure pandas steps and the pandera contracts between stages.

No I/O and no clock: ``now`` is always passed in. One module per stage: :mod:`.contacts`
(HubSpot contacts normalized and quarantined), :mod:`.explorium` (vendor answers parsed),
:mod:`.enrichment` (joined, cached, scored), :mod:`.qualification` (ICP score, routing,
exclusions), :mod:`.writeback` (what HubSpot should hold); :mod:`.schemas` holds the contracts
and :mod:`.masking` the masks that keep personal data out of logs and metadata.
"""
