"""scikit-learn's ``check_estimator`` on every d4p.spmd estimator, in one process.

The checks expected to fail are scikit-learn's own for the estimator of the same
name, plus the deliberate differences listed in ``D4P_EXPECTED`` (also in
docs/sklearn.md).  A check listed here that starts passing only warns; a check
not listed that fails fails the test.
"""
import pytest
from sklearn.utils.estimator_checks import check_estimator

import d4p
from d4p.spmd import (basic_statistics, cluster, covariance, decomposition, linear_model,
                      naive_bayes, neighbors, preprocessing)

try:  # scikit-learn's own expected failures (a testing helper of scikit-learn)
    from sklearn.utils._test_common.instance_generator import PER_ESTIMATOR_XFAIL_CHECKS
except ImportError:  # pragma: no cover - other scikit-learn versions
    PER_ESTIMATOR_XFAIL_CHECKS = {}

_NAN = "fit rejects NaN (low_order_moments has no NaN-skipping mode); transform passes NaN"

D4P_EXPECTED = {
    "BasicStatistics": {"check_fit1d": "1-D input is one feature, as scikit-learn-intelex's"},
    "IncrementalBasicStatistics": {
        "check_fit1d": "1-D input is one feature, as scikit-learn-intelex's",
        "check_fit_score_takes_y": "partial_fit(X, sample_weight, check_input): "
                                   "scikit-learn-intelex's signature"},
    "StandardScaler": {"check_estimators_pickle": _NAN},
    "MaxAbsScaler": {"check_estimators_pickle": _NAN},
    "KNeighborsClassifier": {
        name: "multi-output y is not supported" for name in (
            "check_classifier_multioutput", "check_classifiers_multilabel_representation_invariance",
            "check_classifiers_multilabel_output_format_predict",
            "check_classifiers_multilabel_output_format_predict_proba",
            "check_classifiers_multilabel_output_format_decision_function")},
}

ESTIMATORS = [
    basic_statistics.BasicStatistics(), basic_statistics.IncrementalBasicStatistics(),
    covariance.EmpiricalCovariance(), covariance.IncrementalEmpiricalCovariance(),
    decomposition.PCA(), decomposition.IncrementalPCA(),
    linear_model.LinearRegression(), linear_model.IncrementalLinearRegression(),
    linear_model.Ridge(), preprocessing.StandardScaler(), preprocessing.MaxAbsScaler(),
    naive_bayes.MultinomialNB(), cluster.KMeans(),
]
MODEL_ESTIMATORS = [linear_model.LogisticRegression(), cluster.DBSCAN(), neighbors.KNeighborsClassifier(),
         neighbors.KNeighborsRegressor(), neighbors.NearestNeighbors()]


def _expected(est):
    name = type(est).__name__
    out = {}
    for cls, checks in PER_ESTIMATOR_XFAIL_CHECKS.items():
        if getattr(cls, "__name__", None) == name:
            out.update(checks)
    out.update(D4P_EXPECTED.get(name, {}))
    return out


@pytest.mark.timeout(300)
@pytest.mark.parametrize("est", ESTIMATORS + MODEL_ESTIMATORS, ids=lambda e: type(e).__name__)
def test_check_estimator(est):
    check_estimator(est, expected_failed_checks=_expected(est))
