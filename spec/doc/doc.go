// Package doc is the text layer under chant's files (specs, config.md,
// prompt templates): a Markdown document with YAML frontmatter. Split
// finds the frontmatter (around adrg/frontmatter's known gaps) and decodes
// it into YAML nodes with their lines; the Editor changes fields, boxes and
// sections in place, leaving every other byte of the file as it was; Error
// is a problem at a line of a file.
package doc
