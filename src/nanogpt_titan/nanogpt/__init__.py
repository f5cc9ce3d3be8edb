"""nanoGPT's scripts as nanoGPT's users run them, on torchtitan.

| module        | job                                                                        |
|---------------|----------------------------------------------------------------------------|
| `arguments`   | `train.py`'s and `sample.py`'s command lines read as nanoGPT's configurator reads them |
| `translation` | `train.py`'s settings in torchtitan's names, or refused with the reason      |
| `init_from`   | the model a script starts from: nanoGPT's init, a run, OpenAI's GPT-2s, a folder |
| `train`       | `nanogpt-titan train`: nanoGPT's command, checked before it starts, run by torchtitan |
| `sample`      | `nanogpt-titan sample`: `sample.py`'s sampling, its random draws included    |
"""
