"""The commands' orchestration: run the stages, reduce to numbers, write the outputs.

Role in the pipeline: the floor between the command line (`pipeline.cli`) and the parts it
puts together. Each job calls the floors below it in one direction: `pipeline.run` (stages on
Ray), `pipeline.reduce` (numbers; writes nothing), `pipeline.report` (writes tables and
figures). Modules:

* `evaluate` - `run` and `resume`: a run's stages, then its reduce and outputs
* `reduce`   - `reduce` (a run directory -> curves.parquet, tables/, figures/) and `paper`
* `advise`   - `advise` and `advise_paper`: the budget advisor, then its outputs
"""
