// Package chart draws the portal's pictures as SVG text on the server:
// trend plots of observations over time (one or more series, date and
// value ticks, the unit, a reference-range band), a timeline of marks
// coloured by class (the request log's calls by status), and stacked
// bars (a conformance run's results per profile).
//
// It is pure Go with no scripts and no outside resources, so the pages
// that embed its output work under the portal's Content Security Policy
// and without JavaScript. Every text it writes is escaped, every number is
// finite, and each picture carries a <title> and an aria-label, so that
// a screen reader says what the picture shows. Inputs it cannot plot
// (NaN, infinities, no points) are left out, never drawn off the canvas.
//
// It knows nothing of FHIR or HTTP: the portal turns Observations, log
// entries and runs into Series, Marks and Bars.
package chart
