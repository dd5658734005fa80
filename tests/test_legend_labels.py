"""Legend labels of classified themes (issue 19: a quantile legend started "0.0 – 0.0")."""
import numpy as np
import pandas as pd

from layers.style import theme_colors


def test_a_class_of_one_value_is_labelled_with_that_value():
    # Half the parcels produce nothing (vacant land): the first quantile class holds only zeros.
    values = np.r_[np.zeros(50), np.linspace(10, 200, 50)]
    classified = theme_colors(pd.DataFrame({"output_per_mu_wan": values}), "output_per_mu_wan", lang="zh")
    assert classified.labels[0] == "0.0"
    assert classified.labels[-1].endswith("– 200.0") and "0.0 – 0.0" not in classified.labels
    assert all(" – " in label for label in classified.labels[1:])
