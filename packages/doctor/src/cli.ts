#!/usr/bin/env node
console.log("doctor: not yet");
