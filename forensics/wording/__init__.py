"""Every sentence the workbench says about a result, with one set of thresholds: the command line, the dashboard and
the court report only lay these sentences out, so one result never reads two ways.

- ``forensics.wording.numbers``: numbers, shares with intervals, likelihood ratios as printed;
- ``forensics.wording.results``: one detector's result on one face (verdict, likelihood ratio, score and band,
  error rates, misses on unseen kinds, stability, novelty, why a verdict was withheld), and the report's summary;
- ``forensics.wording.explanations``: agreement and faithfulness of explanation maps, and what was measured about a
  method (localisation, sanity check).

Every sentence is written for a court: no code names, file paths or underscores (a test checks it).
"""
