"""Test RMSE of the Surprise library's predictors on the reference split.

Fits each predictor on base-train plus meta-train (the 80% training rows)
and scores the test rows, for comparison with stackrec's models on the
identical split. Also prints a hold-out linear stack (fit on base-train,
stacked on meta-train) of BaselineOnly, KNNBaseline and SVD.

Usage: python3 peer_surprise.py SPLIT_DIR [--svdpp] [--oof]
       (SPLIT_DIR holds base_train.csv, meta_train.csv and test.csv)
       python3 peer_surprise.py --folds ML100K_DIR
       (mean test RMSE of SVD, SVD++ and item KNNBaseline over u1..u5)
Needs: pip install scikit-surprise scikit-learn pandas
"""

import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from surprise import SVD, BaselineOnly, Dataset, KNNBaseline, Reader, SVDpp
from surprise.model_selection import PredefinedKFold


def trainset(frame):
    reader = Reader(rating_scale=(0.5, 5.0))
    return Dataset.load_from_df(frame[["userId", "movieId", "rating"]], reader).build_full_trainset()


def predict(algorithm, frame):
    return np.array([algorithm.predict(u, i).est for u, i in zip(frame.userId, frame.movieId)])


def run_folds(directory):
    """Mean test RMSE over MovieLens 100k's u1..u5 folds."""
    reader = Reader(line_format="user item rating timestamp", sep="\t", rating_scale=(1, 5))
    makers = {
        "SVD": lambda: SVD(random_state=42),
        "SVDpp": lambda: SVDpp(random_state=42),
        "KNNBaseline": lambda: KNNBaseline(
            k=40, sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False
        ),
    }
    results = {}
    for name, make in makers.items():
        scores = []
        for fold in range(1, 6):
            data = Dataset.load_from_folds(
                [(f"{directory}/u{fold}.base", f"{directory}/u{fold}.test")], reader)
            train, test = next(iter(PredefinedKFold().split(data)))
            algorithm = make()
            algorithm.fit(train)
            predictions = algorithm.test(test)
            scores.append(float(np.sqrt(np.mean([(p.r_ui - p.est) ** 2 for p in predictions]))))
        results[name] = {"folds": scores, "mean_test_rmse": float(np.mean(scores))}
    print(json.dumps(results, indent=2))


def main():
    if sys.argv[1] == "--folds":
        run_folds(sys.argv[2])
        return
    split = sys.argv[1]
    base = pd.read_csv(f"{split}/base_train.csv")
    meta = pd.read_csv(f"{split}/meta_train.csv")
    test = pd.read_csv(f"{split}/test.csv")
    full = pd.concat([base, meta])
    truth = test.rating.values

    def rmse(values):
        return float(np.sqrt(np.mean((values - truth) ** 2)))

    def predictors():
        return {
            "BaselineOnly": BaselineOnly(verbose=False),
            "KNNBaseline": KNNBaseline(
                k=40, sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False
            ),
            "SVD": SVD(n_factors=100, n_epochs=20, lr_all=0.005, reg_all=0.02, random_state=42),
        }

    results = {}
    for name, algorithm in predictors().items():
        start = time.perf_counter()
        algorithm.fit(trainset(full))
        results[name] = {"test_rmse": rmse(predict(algorithm, test)),
                         "seconds": time.perf_counter() - start}

    # Hold-out stack of the three, fit on base-train and stacked on meta-train.
    columns_meta, columns_test = [], []
    for algorithm in predictors().values():
        algorithm.fit(trainset(base))
        columns_meta.append(predict(algorithm, meta))
        columns_test.append(predict(algorithm, test))
    stack = LinearRegression().fit(np.column_stack(columns_meta), meta.rating.values)
    results["linear stack, hold-out"] = {"test_rmse": rmse(stack.predict(np.column_stack(columns_test)))}

    if "--svdpp" in sys.argv:
        start = time.perf_counter()
        algorithm = SVDpp(random_state=42)
        algorithm.fit(trainset(full))
        results["SVDpp"] = {"test_rmse": rmse(predict(algorithm, test)),
                            "seconds": time.perf_counter() - start}

    if "--oof" in sys.argv:
        # 5-fold out-of-fold stack of the three (and SVD++ with --svdpp),
        # models refit on all training rows.
        start = time.perf_counter()
        makers = list(predictors().items())
        if "--svdpp" in sys.argv:
            makers.append(("SVDpp", SVDpp(random_state=42)))
        order = np.random.default_rng(42).permutation(len(full))
        folds = np.array_split(order, 5)
        oof = np.zeros((len(full), len(makers)))
        for held in folds:
            kept = np.setdiff1d(order, held)
            for column, (_, algorithm) in enumerate(makers):
                algorithm.fit(trainset(full.iloc[kept]))
                oof[held, column] = predict(algorithm, full.iloc[held])
        stack = LinearRegression().fit(oof, full.rating.values)
        final = []
        for _, algorithm in makers:
            algorithm.fit(trainset(full))
            final.append(predict(algorithm, test))
        results["linear stack, 5-fold out-of-fold"] = {
            "models": [name for name, _ in makers],
            "test_rmse": rmse(stack.predict(np.column_stack(final))),
            "seconds": time.perf_counter() - start}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
