# Pinned reference values of tests/test_ordinal.py::test_odds_ratios_equal_polr_to_1e6.
# MASS::polr on the UCLA IDRE ordinal-logit example (the copy statsmodels ships as
# statsmodels/miscmodels/tests/results/ologit_ucla.csv), with optim's tolerance
# tightened so that the optimum, not where optim stopped, is pinned.
#
# Made with R 4.2.2 and MASS 7.3-58.2 (Debian bookworm: apt-get install r-base-core r-cran-mass):
#     Rscript tests/test_ordinal_polr.R path/to/ologit_ucla.csv
library(MASS)
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$apply <- factor(d$apply, levels = c("unlikely", "somewhat likely", "very likely"),
                  ordered = TRUE)
fit <- polr(apply ~ pared + public + gpa, data = d, method = "logistic", Hess = TRUE,
            control = list(reltol = 1e-14, maxit = 10000))
cat(sprintf("coef %s %.10f\n", names(coef(fit)), coef(fit)), sep = "")
cat(sprintf("or %s %.10f\n", names(coef(fit)), exp(coef(fit))), sep = "")
cat(sprintf("zeta %s %.10f\n", names(fit$zeta), fit$zeta), sep = "")
cat(sprintf("loglik %.10f\n", as.numeric(logLik(fit))))
