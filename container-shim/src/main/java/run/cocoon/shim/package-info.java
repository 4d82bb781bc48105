/** The host side: image store, bundles, CLIs, host and VM isolation. */
package run.cocoon.shim;
