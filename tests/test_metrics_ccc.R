# Pinned reference values of tests/test_metrics.py::test_ccc_matches_epir_for_both_interval_methods.
# Lin's CCC with both of epiR's interval methods on three data sets.
#
# Made with R 4.2.2 and epiR 2.0.57 (Debian bookworm: apt-get install r-base-core r-cran-epir):
#     Rscript tests/test_metrics_ccc.R
# The data sets are those of the Python test: the Bland & Altman 1986 PEFR readings
# (epiR's own example), a 4-pair set and a 5-pair set.
library(epiR)

wright <- c(494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178, 423, 427)
mini <- c(512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477, 259, 350, 451)
sets <- list(
  pefr = list(x = wright, y = mini),
  four = list(x = c(2.5, 0.0, 2, 8), y = c(3, -0.5, 2, 7)),
  five = list(x = c(1, 2, 3, 4, 5), y = c(1.5, 1.9, 3.4, 3.9, 6.0))
)
for (name in names(sets)) {
  for (ci in c("z-transform", "asymptotic")) {
    for (level in c(0.95, 0.90)) {
      res <- epi.ccc(sets[[name]]$x, sets[[name]]$y, ci = ci, conf.level = level)
      cat(sprintf('    ("%s", "%s", %.2f, %.15f, %.15f, %.15f),\n', name, ci, level,
                  res$rho.c$est, res$rho.c$lower, res$rho.c$upper))
    }
  }
}
