// Package connectors will hold the Connector interface and registry of the
// emulated welfare-technology hub (VKP and its successors) and medical-device
// feeds (connectors/vkp, connectors/mtu). Nothing is implemented yet.
package connectors
