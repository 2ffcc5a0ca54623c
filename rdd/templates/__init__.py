"""Lima templates: the App's default template, what Lima would accept
(validation), and the lima.yaml rendered for one VM architecture.

Admission validates templates here; the App controller takes the default
template; the LimaVM controller picks images and renders lima.yaml.
"""
